/**
 * The rules engine's memory survives the server: a person already alerted on is not alerted on
 * again after a restart, or by another instance that takes the camera over, while a new person is.
 * Real store (PGlite), the in-process bus, the real rule evaluator and alert service.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { ManualClock, silentLogger } from '@iceberg/common';
import type { DetectionFrameV1 } from '@iceberg/contracts';
import type { RuleState } from '@iceberg/rules';
import type { AlertService } from '../src/alerts/alert-service.ts';
import { RuleEvaluator } from '../src/alerts/rule-evaluator.ts';
import { createHarness, type Harness, harnessAlertService } from './api-harness.ts';

const CAMERA = 'yard';
const T0 = Math.floor(Date.now() / 1000) * 1000;

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('rule state across restarts and instances', () => {
  let h: Harness;
  let bus: Bus;
  let alerts: AlertService;
  let ruleId: string;
  const clock = new ManualClock(T0);
  const running: RuleEvaluator[] = [];
  let loads = 0;
  /** The store's own read, not counted in `loads` (which counts the evaluators' reads). */
  let readStates: Harness['store']['ruleStates']['load'];

  function frame(at: number, people: string[]): DetectionFrameV1 {
    return {
      schema: 'detection.v1',
      orgId: h.orgs.a,
      deviceId: 'edge-1',
      cameraId: CAMERA,
      seq: (at - T0) / 500,
      capturedAt: at,
      frame: { width: 768, height: 576 },
      inferred: true,
      inferenceMs: 80,
      objects: people.map((trackId, i) => ({
        trackId,
        class: 'person' as const,
        score: 0.9,
        box: [0.02 + i * 0.15, 0.3, 0.1, 0.4] as [number, number, number, number],
      })),
    };
  }

  async function evaluator(options: { group: string; idleMs?: number }): Promise<RuleEvaluator> {
    const e = new RuleEvaluator({ bus, store: h.store, alerts, clock, logger: silentLogger(), ...options });
    await e.start();
    running.push(e);
    return e;
  }

  const alertedTracks = async () =>
    (await h.store.alerts.list(h.orgs.a, {}, { limit: 100 })).items.map((a) => a.trackIds.join(','));

  /** The saved state's last frame: proof the evaluator has handled the frames up to it. */
  async function savedFrameAt(e: RuleEvaluator): Promise<number | null> {
    await e.checkpoint();
    const saved = await readStates(h.orgs.a, CAMERA);
    return (saved[0]?.state as RuleState | undefined)?.lastFrameAt ?? null;
  }

  before(async () => {
    h = await createHarness();
    readStates = h.store.ruleStates.load.bind(h.store.ruleStates);
    h.store.ruleStates.load = (org, camera) => {
      loads++;
      return readStates(org, camera);
    };
    bus = new Bus(new MemoryBus(), { logger: silentLogger() });
    alerts = harnessAlertService(h, clock);
    const cam = await h.as('owner@org-a.test', {
      method: 'POST',
      url: '/api/cameras',
      payload: { id: CAMERA, input: 'rtsp://192.0.2.10/stream' },
    });
    assert.equal(cam.statusCode, 201, cam.body);
    const r = await h.as('owner@org-a.test', {
      method: 'POST',
      url: '/api/rules',
      payload: {
        name: 'Anyone in the yard',
        cameras: [CAMERA],
        classes: ['person'],
        trigger: { type: 'anywhere' },
      },
    });
    assert.equal(r.statusCode, 201, r.body);
    ruleId = (r.json() as { id: string }).id;
  });

  after(async () => {
    for (const e of running) await e.stop();
    await bus?.close();
    await h?.close();
  });

  test('a restarted evaluator does not alert again for the person in view; a new person alerts', async () => {
    const first = await evaluator({ group: 'rules-1' });
    for (let k = 0; k < 4; k++) await bus.publish('detections', frame(T0 + k * 500, ['p1']));
    await until('the alert for p1', async () => (await alertedTracks()).length === 1);
    assert.deepEqual(await alertedTracks(), ['p1']);

    // Stop (as on SIGTERM) and start again: p1 is still in view, then p2 walks in.
    await first.stop();
    running.splice(running.indexOf(first), 1);
    const second = await evaluator({ group: 'rules-2' });
    for (let k = 4; k < 10; k++)
      await bus.publish('detections', frame(T0 + k * 500, k >= 7 ? ['p1', 'p2'] : ['p1']));
    await until(
      'the second evaluator to handle every frame',
      async () => (await savedFrameAt(second)) === T0 + 9 * 500,
    );
    assert.deepEqual((await alertedTracks()).sort(), ['p1', 'p2'], 'p1 once, p2 once');
  });

  test('an instance that takes the camera over while the first still runs carries on from the store', async () => {
    // What fired was saved the moment it fired: no stop, no checkpoint needed.
    const saved = await h.store.ruleStates.load(h.orgs.a, CAMERA);
    assert.equal(saved.length, 1);
    assert.equal(saved[0]!.ruleId, ruleId);
    const fired = (saved[0]!.state as RuleState).tracks.filter((t) => t.firedAt !== null).map((t) => t.id);
    assert.deepEqual(fired.sort(), ['p1', 'p2']);

    const third = await evaluator({ group: 'rules-3' });
    for (let k = 10; k < 14; k++)
      await bus.publish('detections', frame(T0 + k * 500, k >= 12 ? ['p1', 'p2', 'p3'] : ['p1', 'p2']));
    await until(
      'the third evaluator to handle every frame',
      async () => (await savedFrameAt(third)) === T0 + 13 * 500,
    );
    assert.deepEqual((await alertedTracks()).sort(), ['p1', 'p2', 'p3']);
  });

  test('a camera idle for idleMs is saved and dropped from memory, then read back on its next frame', async () => {
    for (const e of running) await e.stop();
    running.length = 0;
    const e = await evaluator({ group: 'rules-4', idleMs: 30_000 });
    await bus.publish('detections', frame(T0 + 14 * 500, ['p1', 'p2', 'p3']));
    await until('the frame handled', async () => (await savedFrameAt(e)) === T0 + 14 * 500);
    const before = loads;
    clock.advance(31_000);
    await e.checkpoint();
    await bus.publish('detections', frame(T0 + 15 * 500, ['p1', 'p2', 'p3', 'p4']));
    await until('the frame handled', async () => (await savedFrameAt(e)) === T0 + 15 * 500);
    assert.equal(loads, before + 1, 'the state was read again');
    assert.deepEqual((await alertedTracks()).sort(), ['p1', 'p2', 'p3', 'p4']);
  });
});
