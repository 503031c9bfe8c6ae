#!/usr/bin/env bash
# Builds the mock Kafka cluster host (tools/kafka-mock/mock-cluster.c) into .cache/kafka-mock/.
# Needs gcc and Debian's librdkafka-dev (the mock cluster ships in librdkafka itself).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.cache/kafka-mock"
mkdir -p "$out"
if [ ! -f /usr/include/librdkafka/rdkafka_mock.h ]; then
  echo "kafka-mock: /usr/include/librdkafka/rdkafka_mock.h is missing: apt-get install librdkafka-dev" >&2
  exit 1
fi
# A temporary file of this build's own, renamed into place: several test files may build at once,
# and a binary being written must never be executed (ETXTBSY) or replaced half-written.
tmp="$out/mock-cluster.tmp.$$"
gcc -O2 -Wall -Wextra -o "$tmp" "$here/mock-cluster.c" -lrdkafka
mv -f "$tmp" "$out/mock-cluster"
echo "$out/mock-cluster"
