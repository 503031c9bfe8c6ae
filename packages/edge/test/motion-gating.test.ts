import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type AnalysedFrame, CameraPipeline } from '@iceberg/edge';
import { InferenceScheduler, WorkerDetector } from '@iceberg/vision';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const sample = join(root, 'assets/samples/vtest.mp4');

/** One real frame of the sample at `seconds`, as the camera source delivers it (416² BGR + 640×480 RGBA). */
function realFrame(seconds: number) {
  const grab = (vf: string, fmt: string) =>
    execFileSync(
      'ffmpeg',
      [
        '-v',
        'error',
        '-ss',
        String(seconds),
        '-i',
        sample,
        '-frames:v',
        '1',
        '-vf',
        vf,
        '-pix_fmt',
        fmt,
        '-f',
        'rawvideo',
        'pipe:1',
      ],
      { maxBuffer: 1 << 24 },
    );
  return {
    detect: { width: 416, height: 416, data: new Uint8Array(grab('scale=416:416', 'bgr24')) },
    view: { width: 640, height: 480, data: new Uint8Array(grab('scale=640:480', 'rgba')) },
  };
}

describe('motion gating on a still scene (real frames, real model)', { timeout: 60_000 }, async () => {
  const detector = await WorkerDetector.create({
    modelPath: join(root, 'assets/models/nanodet-g.onnx'),
    threads: 2,
    classes: ['person', 'car', 'truck'],
    minScore: 0.5,
    nmsIou: 0.5,
  });
  const scheduler = new InferenceScheduler([detector], { maxFrameAgeMs: 60_000 });
  after(async () => {
    scheduler.close();
    await detector.close();
  });

  const pipeline = (recheckSeconds: number) =>
    new CameraPipeline(
      {
        orgId: 'acme',
        deviceId: 'edge-1',
        cameraId: 'still',
        runId: `r${recheckSeconds}`,
        classes: ['person', 'car', 'truck'],
        minScore: 0.5,
        motion: { enabled: true, threshold: 12, minArea: 0.002, recheckSeconds },
        tracker: {
          minHits: 2,
          maxAgeSeconds: 4,
          stationarySeconds: 10,
          stationaryMaxMove: 0.02,
          updateSeconds: 5,
        },
        snapshots: { enabled: false },
        live: false,
      },
      { scheduler, snapshots: null },
    );

  test('a frozen picture is analysed only to confirm and re-check, and what is in it never vanishes', async () => {
    const still = realFrame(10);
    const p = pipeline(10);
    const results: AnalysedFrame[] = [];
    const start = 1_764_000_000_000;
    for (let seq = 0; seq < 60; seq++) {
      // 30 s of a camera looking at a scene where nothing moves (2 fps).
      const r = await p.process({ seq, pts: seq / 2, capturedAt: start + seq * 500, ...still });
      assert.ok(r, 'offline frames are never dropped');
      results.push(r);
    }
    const inferred = results.filter((r) => r.inferred).map((r) => r.frame.seq);
    // The first frame, the one that confirms the objects, then one re-check every 10 s.
    assert.deepEqual(inferred, [0, 1, 21, 41]);
    const idsAfterConfirmation = results.slice(1).map((r) =>
      r.detection.objects
        .map((o) => o.trackId)
        .sort()
        .join(','),
    );
    assert.ok(idsAfterConfirmation[0]!.length > 0, 'objects confirmed on the second frame');
    const persons = results[1]!.detection.objects.filter((o) => o.class === 'person').length;
    assert.ok(persons >= 3, `${persons} people in the frame`);
    for (const [i, ids] of idsAfterConfirmation.entries())
      assert.equal(ids, idsAfterConfirmation[0], `frame ${i + 1} lists the same tracks`);
    assert.ok(results.slice(2).every((r) => r.detection.inferred === r.inferred));
    // Nobody left: no TrackEnded while the scene is still.
    assert.equal(results.flatMap((r) => r.events).filter((e) => e.type === 'TrackEnded').length, 0);
    // After 10 s without moving, the objects are reported stationary.
    assert.ok(results.flatMap((r) => r.events).some((e) => e.type === 'TrackUpdated' && e.stationary));
  });

  test('when the scene changes, the next frame is analysed at once', async () => {
    const p = pipeline(60);
    const a = realFrame(10);
    const b = realFrame(20);
    const start = 1_764_000_100_000;
    const seen: boolean[] = [];
    for (let seq = 0; seq < 6; seq++)
      seen.push((await p.process({ seq, pts: seq / 2, capturedAt: start + seq * 500, ...a }))!.inferred);
    seen.push((await p.process({ seq: 6, pts: 3, capturedAt: start + 3000, ...b }))!.inferred);
    assert.deepEqual(seen, [true, true, false, false, false, false, true]);
  });
});
