import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { IcebergError, ManualClock } from '@iceberg/common';
import {
  CameraSource,
  type CameraSourceOptions,
  type CameraSourceStatus,
  type SampledFrame,
} from './camera-source.ts';
import type { FfmpegExit, FfmpegProcess } from './ffmpeg-process.ts';

const DETECT_BYTES = 416 * 416 * 3;

/** Stands in for ffmpeg: the test writes its stderr and frames, and decides when it exits. */
class FakeFfmpeg implements FfmpegProcess {
  static nextPid = 1000;
  readonly pid = FakeFfmpeg.nextPid++;
  readonly detect = new PassThrough();
  readonly view = new PassThrough();
  readonly stderr = new PassThrough();
  readonly signals: string[] = [];
  readonly exited: Promise<FfmpegExit>;
  readonly closed: Promise<FfmpegExit>;
  /** Whether SIGTERM ends it (a hung ffmpeg ignores it). */
  obeysSigterm = true;
  gone = false;
  private resolveExit!: (e: FfmpegExit) => void;
  private resolveClose!: (e: FfmpegExit) => void;

  constructor(readonly args: readonly string[]) {
    this.exited = new Promise((r) => {
      this.resolveExit = r;
    });
    this.closed = new Promise((r) => {
      this.resolveClose = r;
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (signal === 'SIGKILL' || this.obeysSigterm) this.exit(signal === 'SIGKILL' ? null : 255, signal);
  }

  /** Prints the stream dumps a real ffmpeg prints before its first frame. */
  header(width = 768, height = 576, view: [number, number] = [640, 480]): void {
    this.stderr.write(
      [
        "[info] Input #0, rtsp, from 'rtsp://cam/x':",
        `[info]   Stream #0:0: Video: h264 (Main), yuv420p(progressive), ${width}x${height}, 25 fps, 25 tbr, 90k tbn`,
        "[info] Output #0, rawvideo, to 'pipe:1':",
        '[info]   Stream #0:0: Video: rawvideo (BGR[24] / 0x18524742), bgr24, 416x416, 2 fps, 2 tbn',
        "[info] Output #1, rawvideo, to 'pipe:3':",
        `[info]   Stream #1:0: Video: rawvideo (RGBA / 0x41424752), rgba, ${view[0]}x${view[1]}, 2 fps, 2 tbn`,
        '',
      ].join('\n'),
    );
  }

  frame(i: number, view: [number, number] = [640, 480]): void {
    this.detect.write(Buffer.alloc(DETECT_BYTES, i % 256));
    this.view.write(Buffer.alloc(view[0] * view[1] * 4, i % 256));
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null, error: FfmpegExit['error'] = null): void {
    if (this.gone) return;
    this.gone = true;
    const e = { code, signal, error };
    this.resolveExit(e);
    this.detect.end();
    this.view.end();
    this.stderr.end();
    setImmediate(() => this.resolveClose(e));
  }
}

async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setImmediate(r));
}

function harness(options: Partial<CameraSourceOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const procs: FakeFfmpeg[] = [];
  const statuses: CameraSourceStatus[] = [];
  const frames: SampledFrame[] = [];
  const source = new CameraSource({
    cameraId: 'front',
    input: 'rtsp://admin:pw@cam/x',
    clock,
    random: () => 0.5, // no jitter: delays are exact
    spawn: (_cmd, args) => {
      const p = new FakeFfmpeg(args);
      procs.push(p);
      return p;
    },
    ...options,
  });
  source.on('status', (s) => statuses.push(s));
  source.on('frame', (f) => frames.push(f));
  const last = () => procs[procs.length - 1]!;
  return { clock, procs, statuses, frames, source, last };
}

test('connecting → online at the first frame, with the stream as the camera describes it', async () => {
  const h = harness();
  h.source.start();
  await flush();
  assert.deepEqual(
    h.statuses.map((s) => s.state),
    ['connecting'],
  );
  assert.equal(h.procs.length, 1);
  assert.equal(h.source.pid, h.last().pid);
  h.last().header();
  h.clock.advance(700);
  h.last().frame(0);
  await flush();
  assert.deepEqual(
    h.statuses.map((s) => s.state),
    ['connecting', 'online'],
  );
  assert.deepEqual(h.statuses[1], {
    state: 'online',
    at: 1_000_700,
    problem: null,
    attempt: 0,
    retryAt: null,
    stream: { width: 768, height: 576, codec: 'h264', fps: 25 },
  });
  h.clock.advance(500);
  h.last().frame(1);
  await flush();
  assert.equal(h.frames.length, 2);
  assert.deepEqual(
    h.frames.map((f) => [f.seq, f.pts, f.capturedAt]),
    [
      [0, 0, 1_000_700],
      [1, 0.5, 1_001_200],
    ],
  );
  assert.equal(h.frames[1]!.detect.data.length, DETECT_BYTES);
  assert.equal(h.frames[1]!.detect.data[0], 1);
  assert.deepEqual(
    [h.frames[1]!.view.width, h.frames[1]!.view.height, h.frames[1]!.view.data[5]],
    [640, 480, 1],
  );
  assert.equal(h.statuses.length, 2, 'frames do not repeat the status');
  await h.source.stop();
});

test('a failure goes offline with the reason and a retry time, then retries with growing backoff', async () => {
  const h = harness({ initialBackoffMs: 1000, maxBackoffMs: 4000 });
  h.source.start();
  await flush();
  const delays: number[] = [];
  for (let i = 1; i <= 5; i++) {
    h.last().stderr.write('[error] rtsp://admin:pw@cam/x: Connection refused\n');
    h.last().exit(1);
    await flush();
    const s = h.statuses[h.statuses.length - 1]!;
    assert.equal(s.state, 'offline');
    assert.equal(s.problem?.code, 'unreachable');
    assert.doesNotMatch(s.problem!.message, /pw/);
    assert.equal(s.attempt, i);
    delays.push(s.retryAt! - h.clock.now());
    h.clock.advance(s.retryAt! - h.clock.now() - 1);
    await flush();
    assert.equal(h.procs.length, i, 'not retried before retryAt');
    h.clock.advance(1);
    await flush();
    assert.equal(h.procs.length, i + 1, 'retried at retryAt');
    const again = h.statuses[h.statuses.length - 1]!;
    assert.equal(again.state, 'connecting');
    assert.equal(again.problem?.code, 'unreachable', 'a retry says why it is retrying');
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 4000, 4000]);
  await h.source.stop();
});

test('the backoff starts again once the camera has stayed online', async () => {
  const h = harness({ initialBackoffMs: 1000, stableAfterMs: 30_000, stallTimeoutMs: 60_000 });
  h.source.start();
  await flush();
  for (let i = 0; i < 3; i++) {
    h.last().exit(1);
    await flush();
    h.clock.advance(10_000);
    await flush();
  }
  h.last().header();
  h.last().frame(0);
  await flush();
  assert.equal(h.source.status.state, 'online');
  h.clock.advance(29_000);
  h.last().frame(1); // still flapping: the count stands
  await flush();
  h.clock.advance(2_000);
  h.last().frame(2);
  await flush();
  h.last().exit(1);
  await flush();
  const s = h.source.status;
  assert.equal(s.attempt, 1);
  assert.equal(s.retryAt! - h.clock.now(), 1000);
  await h.source.stop();
});

test('watchdog: nothing within connectTimeoutMs → timeout; ffmpeg is killed, the next one waits for it', async () => {
  const h = harness({ connectTimeoutMs: 5000, killGraceMs: 2000, initialBackoffMs: 1000 });
  h.source.start();
  await flush();
  const first = h.last();
  first.obeysSigterm = false; // a hung ffmpeg
  first.stderr.write('[warning] RTP: missed 3 packets\n');
  h.clock.advance(4999);
  assert.equal(h.source.status.state, 'connecting');
  h.clock.advance(1);
  await flush();
  const s = h.source.status;
  assert.equal(s.state, 'offline');
  assert.equal(s.problem?.code, 'timeout');
  assert.match(s.problem!.message, /no video frame within 5 s.*missed 3 packets/);
  assert.deepEqual(first.signals, ['SIGTERM']);
  h.clock.advance(1000); // retry due, but the hung process is still there
  await flush();
  assert.equal(h.procs.length, 1);
  h.clock.advance(1000); // grace over: SIGKILL
  await flush();
  assert.deepEqual(first.signals, ['SIGTERM', 'SIGTERM', 'SIGKILL']);
  assert.equal(h.procs.length, 2, 'the retry starts once the old process is gone');
  await h.source.stop();
});

test('watchdog: frames stop while online → stalled, restarted', async () => {
  const h = harness({ stallTimeoutMs: 3000, initialBackoffMs: 500 });
  h.source.start();
  await flush();
  h.last().header();
  h.last().frame(0);
  await flush();
  h.clock.advance(2500);
  h.last().frame(1);
  await flush();
  h.clock.advance(2999);
  assert.equal(h.source.status.state, 'online');
  h.clock.advance(1);
  await flush();
  assert.deepEqual(
    h.statuses.map((s) => [s.state, s.problem?.code ?? null]),
    [
      ['connecting', null],
      ['online', null],
      ['offline', 'stalled'],
    ],
  );
  assert.deepEqual(h.procs[0]!.signals, ['SIGTERM']);
  h.clock.advance(500);
  await flush();
  assert.equal(h.procs.length, 2);
  h.last().header();
  h.last().frame(0);
  await flush();
  assert.equal(h.source.status.state, 'online');
  assert.deepEqual(
    h.frames.map((f) => [f.seq, f.pts]),
    [
      [0, 0],
      [1, 0.5],
      [2, 0],
    ],
  );
  await h.source.stop();
});

test('live: a file that ends is retried', async () => {
  const h = harness({ input: '/videos/a.mp4', initialBackoffMs: 100 });
  h.source.start();
  await flush();
  h.last().header();
  h.last().frame(0);
  await flush();
  h.last().exit(0);
  await flush();
  assert.equal(h.source.status.problem?.code, 'ended');
  h.clock.advance(100);
  await flush();
  assert.equal(h.procs.length, 2);
  await h.source.stop();
});

test('ffmpeg missing (spawn fails) is reported and retried in live mode', async () => {
  const h = harness({
    initialBackoffMs: 100,
    ffmpegPath: '/nonexistent/ffmpeg',
    spawn: () => {
      const p = new FakeFfmpeg([]);
      p.exit(null, null, Object.assign(new Error('spawn /nonexistent/ffmpeg ENOENT'), { code: 'ENOENT' }));
      return p;
    },
  });
  h.source.start();
  await flush();
  assert.equal(h.source.status.problem?.code, 'ffmpeg_missing');
  assert.match(h.source.status.problem!.message, /\/nonexistent\/ffmpeg/);
  await h.source.stop();
});

test('stop(): SIGTERM, SIGKILL after the grace period, resolves when ffmpeg is gone, no retry after', async () => {
  const h = harness({ killGraceMs: 3000 });
  h.source.start();
  await flush();
  h.last().header();
  h.last().frame(0);
  await flush();
  h.last().obeysSigterm = false;
  let stopped = false;
  const stopping = h.source.stop().then(() => {
    stopped = true;
  });
  await flush();
  assert.deepEqual(h.last().signals, ['SIGTERM']);
  assert.equal(stopped, false);
  h.clock.advance(3000);
  await stopping;
  assert.deepEqual(h.last().signals, ['SIGTERM', 'SIGTERM', 'SIGKILL']);
  assert.equal(h.last().gone, true);
  assert.deepEqual(h.source.status.state, 'offline');
  assert.equal(h.source.status.problem, null);
  assert.deepEqual(await h.source.done(), { frames: 1, reason: 'stopped' });
  h.clock.advance(120_000);
  await flush();
  assert.equal(h.procs.length, 1);
  assert.equal(h.source.pid, undefined);
});

test('stop() while waiting to retry cancels the retry', async () => {
  const h = harness({ initialBackoffMs: 1000 });
  h.source.start();
  await flush();
  h.last().exit(1);
  await flush();
  await h.source.stop();
  h.clock.advance(60_000);
  await flush();
  assert.equal(h.procs.length, 1);
});

test('offline: the handler is awaited before the next frame, the pipes pause, nothing is dropped', async () => {
  let release: (() => void) | null = null;
  const handled: number[] = [];
  const h = harness({
    input: '/videos/a.mp4',
    mode: 'offline',
    stallTimeoutMs: 1000,
    onFrame: async (f) => {
      await new Promise<void>((r) => {
        release = r;
      });
      handled.push(f.seq);
    },
  });
  h.source.start();
  await flush();
  const p = h.last();
  assert.ok(!p.args.includes('-re'), 'offline reads as fast as it can');
  p.header();
  for (let i = 0; i < 4; i++) p.frame(i);
  await flush();
  assert.equal(h.frames.length, 1, 'one frame in the handler at a time');
  assert.ok(p.detect.isPaused() && p.view.isPaused(), 'backpressure reaches ffmpeg');
  h.clock.advance(5000); // a slow handler is not a stalled camera
  assert.equal(h.source.status.state, 'online');
  p.exit(0); // ffmpeg finished writing; frames still queued
  for (let i = 0; i < 4; i++) {
    await flush();
    assert.equal(h.frames.length, i + 1);
    release!();
  }
  const result = await h.source.done();
  assert.deepEqual(result, { frames: 4, reason: 'ended' });
  assert.deepEqual(handled, [0, 1, 2, 3]);
  assert.deepEqual(
    h.frames.map((f) => f.capturedAt - 1_000_000),
    [0, 500, 1000, 1500],
  );
  assert.equal(h.source.status.problem?.code, 'ended');
  h.clock.advance(120_000);
  await flush();
  assert.equal(h.procs.length, 1, 'offline never retries');
});

test('offline: a failure ends the run with a coded error', async () => {
  const h = harness({ input: '/videos/missing.mp4', mode: 'offline' });
  h.source.start();
  await flush();
  h.last().stderr.write('[error] /videos/missing.mp4: No such file or directory\n');
  h.last().exit(1);
  await assert.rejects(h.source.done(), (err: unknown) => {
    assert.ok(err instanceof IcebergError);
    assert.equal(err.code, 'ICEBERG_ERR_NOT_FOUND');
    assert.match(err.message, /missing\.mp4/);
    return true;
  });
  assert.equal(h.source.status.retryAt, null);
});

test('offline: a failing frame handler stops the run with its error', async () => {
  const h = harness({
    input: '/videos/a.mp4',
    mode: 'offline',
    onFrame: () => {
      throw new Error('disk full');
    },
  });
  h.source.start();
  await flush();
  h.last().header();
  h.last().frame(0);
  await assert.rejects(h.source.done(), /disk full/);
  assert.deepEqual(h.last().signals, ['SIGTERM']);
});

test('live: a listener that throws does not take the camera down', async () => {
  const h = harness();
  h.source.on('frame', () => {
    throw new Error('bug');
  });
  h.source.start();
  await flush();
  h.last().header();
  h.last().frame(0);
  h.last().frame(1);
  await flush();
  assert.equal(h.frames.length, 2);
  assert.equal(h.source.status.state, 'online');
  await h.source.stop();
});

test('an invalid input is refused at construction', () => {
  assert.throws(
    () => new CameraSource({ cameraId: 'x', input: 'ftp://h/x' }),
    (e: unknown) => e instanceof IcebergError && e.code === 'ICEBERG_ERR_INPUT_INVALID',
  );
});
