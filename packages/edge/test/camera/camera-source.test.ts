// The camera source against the real ffmpeg and real footage (assets/samples/vtest.mp4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CameraSource, type SampledFrame } from '../../src/camera/index.ts';
import { alive, VTEST_MP4, watch } from './helpers.ts';

test('offline: every sampled frame of a file, in order, at the sizes the detector and people need', async () => {
  const frames: {
    seq: number;
    pts: number;
    capturedAt: number;
    detect: number;
    view: [number, number, number];
  }[] = [];
  let first: SampledFrame | null = null;
  const source = new CameraSource({
    cameraId: 'file',
    input: VTEST_MP4,
    mode: 'offline',
    fps: 2,
    onFrame: async (f) => {
      first ??= f;
      frames.push({
        seq: f.seq,
        pts: f.pts,
        capturedAt: f.capturedAt,
        detect: f.detect.data.length,
        view: [f.view.width, f.view.height, f.view.data.length],
      });
      // A consumer slower than ffmpeg for a while: nothing may be dropped.
      if (f.seq < 5) await new Promise((r) => setTimeout(r, 100));
    },
  });
  const w = watch(source);
  source.start();
  const result = await source.done();
  assert.equal(result.reason, 'ended');
  assert.ok(result.frames === 159 || result.frames === 160, `79.5 s at 2 fps, got ${result.frames}`);
  assert.equal(frames.length, result.frames);
  for (const [i, f] of frames.entries()) {
    assert.equal(f.seq, i);
    assert.equal(f.pts, i * 0.5);
    assert.equal(f.detect, 416 * 416 * 3);
    assert.deepEqual(f.view, [640, 480, 640 * 480 * 4]);
    assert.equal(f.capturedAt - frames[0]!.capturedAt, i * 500);
  }
  // The first detection frame is a picture, not a black or grey screen.
  const d = first!.detect.data;
  let sum = 0;
  let sumSq = 0;
  for (const v of d) {
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / d.length;
  const std = Math.sqrt(sumSq / d.length - mean * mean);
  assert.ok(mean > 30 && std > 20, `mean ${mean.toFixed(1)}, std ${std.toFixed(1)}`);
  // The view frame is the same instant: its RGBA mean matches the BGR mean closely.
  const v = first!.view.data;
  let vs = 0;
  let vn = 0;
  for (let k = 0; k < v.length; k += 4) {
    vs += v[k]! + v[k + 1]! + v[k + 2]!;
    vn += 3;
  }
  assert.ok(
    Math.abs(vs / vn - mean) < 5,
    `view mean ${(vs / vn).toFixed(1)} vs detect mean ${mean.toFixed(1)}`,
  );
  assert.equal(v[3], 255);

  assert.deepEqual(
    w.statuses.map((s) => [s.state, s.problem?.code ?? null]),
    [
      ['connecting', null],
      ['online', null],
      ['offline', 'ended'],
    ],
  );
  assert.deepEqual(w.statuses[1]!.stream, { width: 768, height: 576, codec: 'h264', fps: 10 });
  assert.equal(w.statuses[2]!.retryAt, null, 'offline mode does not retry');
  assert.equal(source.pid, undefined);
});

test('live: a looping file read in real time comes online and delivers about 2 frames a second; stop() leaves no ffmpeg', async () => {
  const source = new CameraSource({ cameraId: 'loop', input: VTEST_MP4, fps: 2, loop: true, realtime: true });
  const w = watch(source);
  const arrivals: number[] = [];
  source.on('frame', () => arrivals.push(performance.now()));
  try {
    source.start();
    assert.equal(w.statuses[0]?.state, 'connecting');
    const online = await w.until((s) => s.state === 'online', 10_000);
    assert.deepEqual(online.problem, null);
    assert.equal(online.stream?.width, 768);
    assert.equal(online.stream?.height, 576);
    assert.equal(online.stream?.codec, 'h264');
    const pid = source.pid!;
    assert.ok(alive(pid));
    await new Promise((r) => setTimeout(r, 4_000));
    const recent = arrivals.filter((t) => t > arrivals[0]! + 1); // after the first frame
    assert.ok(recent.length >= 6 && recent.length <= 10, `frames in 4 s after the first: ${recent.length}`);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    assert.ok(median > 400 && median < 600, `median gap ${median.toFixed(0)} ms`);
    await source.stop();
    assert.equal(alive(pid), false, 'ffmpeg is gone when stop() resolves');
    assert.equal(source.status.state, 'offline');
  } finally {
    await source.stop();
  }
});
