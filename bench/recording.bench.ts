/**
 * The recorder's cost: `npm run bench:recording [-- --cameras N --seconds S]` (defaults 2 cameras,
 * 30 s per configuration, about 2 minutes). N simulated cameras (the sample footage looped at
 * real time) run in three configurations, one after the other:
 *   1. the camera process as it is without recording (decode, sample 2 fps, two frame outputs);
 *   2. the same process with the recorder output (stream copy into 10 s fragmented-MP4 segments),
 *      and the recorders themselves (segment list polling, checks, moves, index) in this process;
 *   3. a copy-only ffmpeg (the recorder output alone), the floor of what recording costs.
 * CPU is each ffmpeg's utime+stime over wall time (/proc), per camera, in % of one core; the
 * recorder's own share is (2) − (1). Disk per hour is the bytes of the segments written in (2)
 * over the seconds of video they hold.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@iceberg/common';
import { IcebergConfig } from '@iceberg/config';
import { CameraSource, RecordingManager, recorderOutputArgs } from '@iceberg/edge';

const root = join(import.meta.dirname, '..');
const input = join(root, 'assets/samples/vtest.mp4');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const cameras = arg('cameras', 2);
const seconds = arg('seconds', 30);
const ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg';
const logger = silentLogger();

function ticks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Cores used per process over `seconds`, measured after a 3 s warm-up. */
async function measure(pids: () => (number | undefined)[]): Promise<{ perProcess: number; node: number }> {
  await sleep(3000);
  const p0 = pids().map(ticks);
  const n0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const p1 = pids().map(ticks);
  const n1 = process.cpuUsage(n0);
  const used = p1.reduce((sum, t, i) => sum + (t - (p0[i] ?? 0)), 0) / 100;
  return { perProcess: used / wall / p1.length, node: (n1.user + n1.system) / 1e6 / wall };
}

async function cameraRun(record: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), 'iceberg-rec-bench-'));
  const config = IcebergConfig.parse({
    dataDir,
    cameras: Array.from({ length: cameras }, (_, i) => ({
      id: `cam-${i}`,
      input,
      loop: true,
      realtime: true,
      record: { mode: record ? 'continuous' : 'off' },
    })),
    recording: { freeSpaceFloor: { bytes: 0, percent: 0 } },
  });
  const manager = new RecordingManager(config, { publish: async () => {}, logger });
  await manager.start();
  const sources = config.cameras.map((camera) => {
    const recorder = manager.recorder(camera.id);
    const source = new CameraSource({
      cameraId: camera.id,
      input,
      fps: camera.detect.fps,
      loop: true,
      realtime: true,
      ffmpegPath,
      logger,
      ...(record && recorder ? { attemptOutputs: () => recorder.attemptOutputs() } : {}),
    });
    if (record) recorder?.attach(source);
    source.on('frame', () => {});
    source.start();
    return source;
  });
  const cpu = await measure(() => sources.map((s) => s.pid));
  await Promise.all(sources.map((s) => s.stop()));
  await manager.stop();
  let bytes = 0;
  let mediaMs = 0;
  for (const camera of config.cameras)
    for (const s of manager.recorder(camera.id)?.index.list() ?? []) {
      bytes += s.segment.bytes;
      mediaMs += s.segment.durationMs;
    }
  rmSync(dataDir, { recursive: true, force: true });
  return { ...cpu, bytes, mediaMs };
}

async function copyOnlyRun() {
  const dir = mkdtempSync(join(tmpdir(), 'iceberg-rec-bench-copy-'));
  const procs = Array.from({ length: cameras }, (_, i) => {
    const out = join(dir, `cam-${i}`);
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', input];
    mkdirSync(out, { recursive: true });
    return spawn(ffmpegPath, [...args, ...recorderOutputArgs({ dir: out, segmentSeconds: 10 })], {
      stdio: 'ignore',
    });
  });
  const cpu = await measure(() => procs.map((p) => p.pid));
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((r) => p.once('exit', r))));
  rmSync(dir, { recursive: true, force: true });
  return cpu;
}

const pct = (cores: number) => `${(cores * 100).toFixed(2)} %`;
console.log(
  `recording bench: ${cameras} camera(s), vtest.mp4 768x576 10 fps H.264 looped at real time, ${seconds} s per run`,
);
const without = await cameraRun(false);
console.log(
  `1. camera process, no recording:        ffmpeg ${pct(without.perProcess)} of a core per camera; node ${pct(without.node)}`,
);
const withRec = await cameraRun(true);
console.log(
  `2. camera process + recorder output:     ffmpeg ${pct(withRec.perProcess)} of a core per camera; node ${pct(withRec.node)}`,
);
const copy = await copyOnlyRun();
console.log(`3. copy-only ffmpeg (recorder alone):    ffmpeg ${pct(copy.perProcess)} of a core per camera`);
const marginal = withRec.perProcess - without.perProcess + (withRec.node - without.node) / cameras;
console.log(
  `=> recording costs ${pct(marginal)} of a core per camera (ffmpeg copy output + the recorder in node)`,
);
const perHour = withRec.mediaMs > 0 ? (withRec.bytes / withRec.mediaMs) * 3_600_000 : 0;
console.log(
  `=> disk: ${(perHour / 1e9).toFixed(2)} GB per hour per camera (${((perHour * 8) / 3.6e9).toFixed(2)} Mbit/s; ${(withRec.mediaMs / 1000).toFixed(1)} s of video in ${(withRec.bytes / 1e6).toFixed(1)} MB)`,
);
