/**
 * Live view: `npm run bench:live` (about 3 minutes; `--quick`: about 1).
 *
 * - A camera whose frames carry the wall-clock time: this script draws Date.now() into each
 *   frame as 48 black/white blocks, encodes it with x264 (zerolatency, a keyframe a second) and
 *   publishes it to a second nginx-rtmp that stands in for an IP camera (many readers, loopback).
 * - The all-in-one box (edge + server, real nginx restreamer) has that camera and the sample
 *   footage. Chromium logs in, opens the camera page and clicks "Watch live":
 *   * "watch → first frame": from the click to the video's time advancing, cold (no session), per mode;
 *   * glass-to-glass: at each presented frame (requestVideoFrameCallback) the page reads the
 *     blocks back from a canvas and compares them with Date.now() (same clock, same machine).
 * - CPU of a live push of the sample (768×576, 10 fps): with copy and with annotation, from
 *   /proc (the push's ffmpeg processes; the annotation drawing in Node separately).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, silentLogger } from '@iceberg/common';
import { loadConfig, RestreamConfig } from '@iceberg/config';
import { chromium } from 'playwright-core';
import { startAllInOne } from '../packages/cli/src/commands/all-in-one.ts';
import { UrlSigner } from '../packages/server/src/auth/url-signer.ts';
import { NginxRestreamer } from '../packages/server/src/live/nginx-restreamer.ts';

const root = join(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 3;
const G2G_SAMPLES = quick ? 30 : 100;
const CPU_SECONDS = quick ? 8 : 20;
const W = 640;
const H = 360;
const FPS = 25;
const email = 'bench@iceberg.test';
const password = 'bench-password-1';
const ms = (v: number) => `${Math.round(v)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

// --- the clock camera -----------------------------------------------------------------------
const sim = new NginxRestreamer({
  config: RestreamConfig.parse({ rtmpPort: 0 }),
  dataDir: mkdtempSync(join(tmpdir(), 'iceberg-live-bench-cam-')),
  signer: UrlSigner.random(),
  logger: silentLogger(),
  ffmpegPath: 'ffmpeg',
});
await sim.start();
const { publishUrl: clockPublish } = sim.openStream({ orgId: 'sim', cameraId: 'clock', streamId: 'clock' });

/**
 * The clock camera, in its own process so that a busy event loop here never delays a frame:
 * frames carrying Date.now() (bit i = block i%16, row i/16 of 40×40 px) go into an x264 encoder.
 */
const CLOCK_CAMERA = `
const { spawn } = require('node:child_process');
const [W, H, FPS, url] = [${W}, ${H}, ${FPS}, process.argv[1]];
const ff = spawn('ffmpeg', [
  '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', W + 'x' + H, '-r', String(FPS), '-i', 'pipe:0',
  // A silent microphone track, as many cameras have: over RTMP, a stream without audio makes
  // every reader's ffmpeg wait its whole probe time (5 s) for an audio stream that never comes.
  '-re', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-map', '0:v', '-map', '1:a', '-c:a', 'aac', '-b:a', '16k',
  '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS), '-pix_fmt', 'yuv420p',
  '-f', 'flv', url,
], { stdio: ['pipe', 'ignore', 'inherit'] });
ff.stdin.on('error', () => {});
let n = 0;
const timer = setInterval(() => {
  const frame = Buffer.alloc(W * H, 96);
  const now = Date.now();
  for (let i = 0; i < 48; i++) {
    const on = Math.floor(now / 2 ** i) % 2 === 1;
    const x0 = (i % 16) * 40, y0 = Math.floor(i / 16) * 40;
    for (let y = y0; y < y0 + 40; y++) frame.fill(on ? 235 : 16, y * W + x0, y * W + x0 + 40);
  }
  const bar = (n++ * 8) % W; // something that moves, as in a camera picture
  for (let y = 200; y < H; y++) frame.fill(200, y * W + bar, y * W + Math.min(W, bar + 30));
  ff.stdin.write(frame);
}, 1000 / FPS);
const stop = () => { clearInterval(timer); ff.kill('SIGTERM'); process.exit(0); };
process.on('SIGTERM', stop);
process.on('disconnect', stop);
`;
function startClockCamera(url: string): { stop(): void } {
  const child = spawn(process.execPath, ['-e', CLOCK_CAMERA, url], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return { stop: () => child.kill('SIGTERM') };
}

const clock = startClockCamera(clockPublish);

// --- the box ------------------------------------------------------------------------------
const config = loadConfig({
  baseDir: root,
  overrides: {
    dataDir: mkdtempSync(join(tmpdir(), 'iceberg-live-bench-')),
    log: { level: 'error' },
    server: { port: 0, admin: { email, password }, restream: { rtmpPort: 0 } },
    cameras: [
      {
        id: 'clock',
        name: 'Clock',
        input: `rtmp://127.0.0.1:${sim.rtmpPort}/live/clock`,
        detect: { enabled: false },
      },
      {
        id: 'demo',
        name: 'Sample',
        input: join(root, 'assets/samples/vtest.mp4'),
        loop: true,
        realtime: true,
      },
    ],
  },
});
const app = await startAllInOne(config);
const base = app.server.url;
const token = (
  (await (
    await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    })
  ).json()) as { token: string }
).token;
const apiCall = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (r.status === 204 ? null : await r.json()) as T;
};

async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 60_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Pids of the ffmpeg processes that are children of this process. */
function ffmpegChildren(): Set<number> {
  const out = new Set<number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm === 'ffmpeg') out.add(Number(pid));
    } catch {}
  }
  return out;
}
function ticks(pid: number | 'self'): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}
function pushPids(streamId: string): number[] {
  return [...ffmpegChildren()].filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`/live/${streamId}?key=`);
    } catch {
      return false;
    }
  });
}

let lastCameraState = '';
process.on('exit', (code) => code && console.error(`last camera state: ${lastCameraState}`));
for (const id of ['clock', 'demo'])
  await waitFor(`camera ${id} online`, async () => {
    const c = await apiCall<{ state: string; problem: unknown }>('GET', `/api/cameras/${id}`);
    if (c.state !== 'online') lastCameraState = `${id}: ${c.state} ${JSON.stringify(c.problem)}`;
    return c.state === 'online';
  });

// --- CPU of a live push (API only, no browser) ---------------------------------------------------
async function pushCpu(annotated: boolean): Promise<{ ffmpeg: number; node: number; processes: number }> {
  const before = ffmpegChildren();
  const s = await apiCall<{ sessionId: string; viewerId: string }>('POST', '/api/cameras/demo/live', {
    annotated,
  });
  await waitFor(
    'live',
    async () => (await apiCall<{ state: string }>('GET', `/api/live/${s.sessionId}`)).state === 'live',
  );
  await sleep(2000);
  const pids = [...ffmpegChildren()].filter((p) => !before.has(p));
  const t0 = performance.now();
  const f0 = pids.map((p) => ticks(p));
  const n0 = ticks('self');
  const beat = setInterval(
    () => void apiCall('POST', `/api/live/${s.sessionId}/heartbeat`, { viewerId: s.viewerId }),
    5000,
  );
  await sleep(CPU_SECONDS * 1000);
  clearInterval(beat);
  const seconds = (performance.now() - t0) / 1000;
  const ffmpeg = pids.reduce((sum, p, i) => sum + ticks(p) - f0[i]!, 0) / 100 / seconds;
  const node = (ticks('self') - n0) / 100 / seconds;
  await apiCall('DELETE', `/api/live/${s.sessionId}?viewerId=${s.viewerId}`);
  await waitFor('push gone', () => pushPids(s.sessionId).length === 0);
  return { ffmpeg, node, processes: pids.length };
}
const idle0 = ticks('self');
await sleep(CPU_SECONDS * 1000);
const nodeIdle = (ticks('self') - idle0) / 100 / CPU_SECONDS;
const copyCpu = await pushCpu(false);
const annotatedCpu = await pushCpu(true);

// --- Chromium ------------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
// Times (performance.now) of the low-latency socket's first init and first fragment, for the breakdown.
await page.addInitScript(`(() => {
  const W = window.WebSocket;
  window.__ws = [];
  window.__ev = [];
  for (const type of ['loadedmetadata', 'loadeddata', 'canplay', 'playing', 'seeking', 'seeked', 'waiting', 'stalled'])
    document.addEventListener(type, () => window.__ev.push(type + '@' + Math.round(performance.now())), true);
  window.WebSocket = class extends W {
    constructor(url, p) {
      super(url, p);
      if (!String(url).includes('/live/ws/')) return;
      const rec = { open: performance.now(), init: 0, first: 0 };
      window.__ws.push(rec);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string') rec.init = rec.init || performance.now();
        else if (rec.init && !rec.first) rec.first = performance.now();
      });
    }
  };
})()`);
await page.goto(base);
await page.getByLabel('E-mail').fill(email);
await page.getByLabel('Password').fill(password);
await page.getByRole('button', { name: 'Log in' }).click();
await page.locator('[data-testid="camera-tile"]').first().waitFor();
await page.goto(`${base}/#/cameras/clock`);
await page.getByTestId('watch-live').waitFor();

/** Reads the time drawn into presented frames; returns Date.now() − drawn time per frame (runs in the page). */
const READ_LATENCIES = `async (count) => {
  const video = document.querySelector('[data-testid="live-video"]');
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 120;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const out = [];
  for (let k = 0; k < count; k++) {
    await new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
    const now = Date.now();
    ctx.drawImage(video, 0, 0, video.videoWidth, video.videoHeight, 0, 0, 640, (video.videoHeight * 640) / video.videoWidth);
    const d = ctx.getImageData(0, 0, 640, 120).data;
    let drawn = 0;
    for (let i = 0; i < 48; i++) {
      const x = (i % 16) * 40 + 20;
      const y = Math.floor(i / 16) * 40 + 20;
      if (d[(y * 640 + x) * 4] > 128) drawn += 2 ** i;
    }
    const lag = now - drawn;
    const b = video.buffered;
    if (lag > -1000 && lag < 60000) out.push([lag, b.length ? (b.end(b.length - 1) - video.currentTime) * 1000 : 0]);
    await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}`;
const readLatencies = (n: number): Promise<[number, number][]> => page.evaluate(`(${READ_LATENCIES})(${n})`);

const results: Record<
  string,
  { firstFrame: number[]; g2g: number[]; ahead: number[]; stallsPerMinute: number[] }
> = {};
const breakdown: string[] = [];
for (const [mode, label] of [
  ['ll', 'Low latency'],
  ['hls', 'HLS'],
] as const) {
  results[mode] = { firstFrame: [], g2g: [], ahead: [], stallsPerMinute: [] };
  await page.getByLabel(label).check();
  for (let run = 0; run < RUNS; run++) {
    const response = page.waitForResponse((r) => r.url().endsWith('/api/cameras/clock/live'));
    const t0 = Date.now();
    const p0 = (await page.evaluate('performance.now()')) as number;
    await page.getByTestId('watch-live').click();
    const { sessionId } = (await (await response).json()) as { sessionId: string };
    await page.locator('[data-testid="live-player"][data-phase="playing"]').waitFor({ timeout: 60_000 });
    results[mode].firstFrame.push(Date.now() - t0);
    const steps = (await page.evaluate(`(() => {
      const r = performance.getEntriesByType('resource');
      const end = (re) => r.filter((e) => re.test(e.name)).map((e) => e.responseEnd).find((t) => t > ${p0}) ?? null;
      const ws = window.__ws.filter((w) => w.open > ${p0})[0];
      window.__evOut = window.__ev.filter((e) => Number(e.split('@')[1]) > ${p0}).map((e) => e.replace(/@(\\d+)/, (_, t) => '@' + Math.round(t - ${p0}))).join(' ');
      window.__ev = [];
      return { events: window.__evOut, post: end(/\\/api\\/cameras\\/clock\\/live$/), playlist: end(/index\\.m3u8$/), segment: end(/\\.ts$/), wsInit: ws ? ws.init : null, wsFirst: ws ? ws.first : null };
    })()`)) as Record<string, number | string | null>;
    const rel = Object.fromEntries(
      Object.entries(steps).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v - p0) : v]),
    );
    breakdown.push(`${mode} run ${run + 1}: ${JSON.stringify(rel)} → playing ${Date.now() - t0} ms`);
    const actual = await page.getByTestId('live-video').getAttribute('data-mode');
    if (actual !== mode) throw new Error(`expected ${mode} playback, got ${actual}`);
    // Let the player settle at the live edge before measuring.
    await sleep(run === 0 ? 5000 : 2000);
    await page.evaluate('window.__ev = []');
    const s0 = Date.now();
    const samples = await readLatencies(Math.ceil(G2G_SAMPLES / RUNS));
    results[mode].g2g.push(...samples.map((x) => x[0]));
    results[mode].ahead.push(...samples.map((x) => x[1]));
    const stalls = (await page.evaluate(
      'window.__ev.filter((e) => e.startsWith("waiting")).length',
    )) as number;
    results[mode].stallsPerMinute.push((stalls * 60_000) / (Date.now() - s0));
    await page.getByTestId('live-stop').click();
    await waitFor('push gone', () => pushPids(sessionId).length === 0);
  }
}
await browser.close();
await app.stop();
clock.stop();
await sim.close();

// --- report -----------------------------------------------------------------------------
const stats = (v: number[]) =>
  v.length === 0 ? 'n/a' : `p50 ${ms(percentile(v, 50))}, p95 ${ms(percentile(v, 95))} (n=${v.length})`;
console.log('\nLive view (npm run bench:live%s)', quick ? ' --quick' : '');
for (const [mode, r] of Object.entries(results)) {
  console.log(
    `${mode === 'll' ? 'low latency (fMP4/WS)' : 'HLS (hls.js)         '}  watch → first frame: ${stats(r.firstFrame)}`,
  );
  console.log(`${' '.repeat(22)} glass-to-glass:      ${stats(r.g2g)}`);
  console.log(
    `${' '.repeat(22)} of which buffered in the player: ${stats(r.ahead)}; stalls ("waiting") per minute: ${r.stallsPerMinute.map((v) => v.toFixed(1)).join(', ')}`,
  );
}
console.log(
  "  where the first frame's time goes (ms after the click: POST answered, first playlist/segment, socket init/fragment):",
);
for (const line of breakdown) console.log(`    ${line}`);
const pct = (v: number) => `${(v * 100).toFixed(1)}% of a core`;
console.log(`push of the sample (768×576, 10 fps), ${CPU_SECONDS} s each:`);
console.log(`  copy:      ffmpeg ${pct(copyCpu.ffmpeg)} (${copyCpu.processes} process)`);
console.log(
  `  annotated: ffmpeg ${pct(annotatedCpu.ffmpeg)} (${annotatedCpu.processes} processes: decode + x264), Node drawing ≈ ${pct(Math.max(0, annotatedCpu.node - nodeIdle))} above idle (Node idle with detection: ${pct(nodeIdle)}; during copy: ${pct(copyCpu.node)})`,
);
process.exit(0);
