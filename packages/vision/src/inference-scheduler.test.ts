import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '@iceberg/common';
import type { DetectionResult, Detector } from './detector.ts';
import { type InferenceOutcome, InferenceScheduler } from './inference-scheduler.ts';
import type { BgrFrame } from './types.ts';

/** A detector whose inferences finish when the test says so; records which frames it saw. */
class GatedDetector implements Detector {
  readonly name = 'gated';
  readonly inputSize = { width: 1, height: 1 };
  readonly seen: string[] = [];
  private release: Array<() => void> = [];
  async detect(frame: BgrFrame): Promise<DetectionResult> {
    this.seen.push(Buffer.from(frame.data).toString());
    await new Promise<void>((r) => this.release.push(r));
    return { detections: [], inferenceMs: 50 };
  }
  finishOne(): void {
    this.release.shift()?.();
  }
  async close(): Promise<void> {}
}

const frame = (label: string): BgrFrame => ({ width: 1, height: 1, data: Buffer.from(label) });
const tick = () => new Promise((r) => setImmediate(r));

describe('inference scheduler', () => {
  test('a newer frame of the same camera replaces the waiting one, which is dropped', async () => {
    const det = new GatedDetector();
    const s = new InferenceScheduler([det], { maxFrameAgeMs: 10_000 });
    const a1 = s.submit('a', frame('a1'), { capturedAt: Date.now(), dropIfStale: true });
    const a2 = s.submit('a', frame('a2'), { capturedAt: Date.now(), dropIfStale: true });
    const a3 = s.submit('a', frame('a3'), { capturedAt: Date.now(), dropIfStale: true });
    assert.deepEqual(await a2, { status: 'dropped', reason: 'superseded' });
    det.finishOne();
    assert.equal((await a1).status, 'done');
    await tick();
    det.finishOne();
    assert.equal((await a3).status, 'done');
    assert.deepEqual(det.seen, ['a1', 'a3']);
    assert.equal(s.stats().dropped.superseded, 1);
  });

  test('cameras take turns: a camera sending many frames cannot starve another', async () => {
    const det = new GatedDetector();
    const s = new InferenceScheduler([det], { maxFrameAgeMs: 10_000 });
    const outcomes: Promise<InferenceOutcome>[] = [];
    outcomes.push(s.submit('busy', frame('b0'), { capturedAt: Date.now(), dropIfStale: true }));
    outcomes.push(s.submit('quiet', frame('q0'), { capturedAt: Date.now(), dropIfStale: true }));
    for (let i = 1; i <= 5; i++)
      outcomes.push(s.submit('busy', frame(`b${i}`), { capturedAt: Date.now(), dropIfStale: true }));
    for (let i = 0; i < 3; i++) {
      det.finishOne();
      await tick();
    }
    await Promise.all(outcomes);
    assert.deepEqual(det.seen, ['b0', 'q0', 'b5']);
  });

  test('a frame that waited longer than the limit is dropped as stale; file frames never are', async () => {
    const clock = new ManualClock(1_000_000);
    const det = new GatedDetector();
    const s = new InferenceScheduler([det], { maxFrameAgeMs: 500, clock });
    const first = s.submit('a', frame('a1'), { capturedAt: clock.now(), dropIfStale: true });
    const live = s.submit('b', frame('b1'), { capturedAt: clock.now(), dropIfStale: true });
    const file = s.submit('c', frame('c1'), { capturedAt: clock.now(), dropIfStale: false });
    clock.advance(800);
    det.finishOne();
    await first;
    assert.deepEqual(await live, { status: 'dropped', reason: 'stale' });
    await tick();
    det.finishOne();
    assert.equal((await file).status, 'done');
    assert.equal(s.stats().dropped.stale, 1);
  });

  test('two detectors run two cameras at once and the load is reported', async () => {
    const d1 = new GatedDetector();
    const d2 = new GatedDetector();
    const s = new InferenceScheduler([d1, d2], { maxFrameAgeMs: 10_000, windowMs: 1000 });
    const a = s.submit('a', frame('a'), { capturedAt: Date.now(), dropIfStale: true });
    const b = s.submit('b', frame('b'), { capturedAt: Date.now(), dropIfStale: true });
    assert.deepEqual([d1.seen, d2.seen], [['a'], ['b']]);
    d1.finishOne();
    d2.finishOne();
    await Promise.all([a, b]);
    const stats = s.stats();
    assert.equal(stats.completed, 2);
    assert.equal(stats.inferenceMsP50, 50);
    assert.equal(stats.inferencesPerSecond, 2);
    assert.ok(Math.abs(stats.load - 0.05) < 1e-9, `load ${stats.load}`);
  });

  test('a detector that queues internally is handed the next frame while it works', async () => {
    const det = Object.assign(new GatedDetector(), { maxInFlight: 2 });
    const s = new InferenceScheduler([det], { maxFrameAgeMs: 10_000 });
    const a = s.submit('a', frame('a1'), { capturedAt: Date.now(), dropIfStale: true });
    const b = s.submit('b', frame('b1'), { capturedAt: Date.now(), dropIfStale: true });
    const c = s.submit('c', frame('c1'), { capturedAt: Date.now(), dropIfStale: true });
    assert.deepEqual(det.seen, ['a1', 'b1'], 'two handed over, the third waits in the scheduler');
    assert.equal(s.stats().pending, 1);
    det.finishOne();
    det.finishOne();
    await Promise.all([a, b]);
    await tick();
    assert.deepEqual(det.seen, ['a1', 'b1', 'c1']);
    det.finishOne();
    assert.equal((await c).status, 'done');
  });

  test('a detector failure reaches the caller and the scheduler keeps going', async () => {
    let fail = true;
    const det: Detector = {
      name: 'flaky',
      inputSize: { width: 1, height: 1 },
      detect: async () => {
        if (fail) {
          fail = false;
          throw new Error('onnxruntime: out of memory');
        }
        return { detections: [], inferenceMs: 1 };
      },
      close: async () => {},
    };
    const s = new InferenceScheduler([det], { maxFrameAgeMs: 10_000 });
    await assert.rejects(
      s.submit('a', frame('x'), { capturedAt: Date.now(), dropIfStale: true }),
      /out of memory/,
    );
    assert.equal(
      (await s.submit('a', frame('y'), { capturedAt: Date.now(), dropIfStale: true })).status,
      'done',
    );
  });

  test('closing drops what waits', async () => {
    const det = new GatedDetector();
    const s = new InferenceScheduler([det], { maxFrameAgeMs: 10_000 });
    void s.submit('a', frame('a'), { capturedAt: Date.now(), dropIfStale: true });
    const waiting = s.submit('b', frame('b'), { capturedAt: Date.now(), dropIfStale: true });
    s.close();
    assert.deepEqual(await waiting, { status: 'dropped', reason: 'closed' });
    assert.deepEqual(await s.submit('c', frame('c'), { capturedAt: Date.now(), dropIfStale: true }), {
      status: 'dropped',
      reason: 'closed',
    });
  });
});
