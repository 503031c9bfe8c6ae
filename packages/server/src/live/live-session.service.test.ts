import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '@iceberg/common';
import { ServerLiveConfig } from '@iceberg/config';
import type { StartStreamV1 } from '@iceberg/contracts';
import type { Store } from '@iceberg/store';
import { LiveSessionService, type LiveSessionView } from './live-session.service.ts';
import { memoryBus, RecordingRestreamer, ScriptedDevice, settle, until } from './live-test-helpers.ts';
import { Messenger } from './messenger.ts';

const config = ServerLiveConfig.parse({
  viewerIdleSeconds: 30,
  commandTimeoutSeconds: 10,
  commandRetries: 2,
  streamTtlSeconds: 30,
});

const cameras = {
  get: async (orgId: string, id: string) =>
    orgId === 'acme' && (id === 'door' || id === 'off')
      ? { id, orgId, deviceId: 'edge-1', settings: { enabled: id !== 'off' } }
      : undefined,
} as unknown as Store['cameras'];

async function setup(answer: 'start' | 'silent' = 'start') {
  const bus = memoryBus();
  const clock = new ManualClock(1_000_000);
  const device = new ScriptedDevice(bus, 'acme', 'edge-1');
  if (answer === 'start')
    device.answer = (c) => (c.type === 'StartStream' ? ['accepted', 'started'] : ['stopped']);
  await device.start();
  const messenger = new Messenger({ bus, clock, config });
  await messenger.start();
  const restreamer = new RecordingRestreamer();
  const pushed: LiveSessionView[] = [];
  const live = new LiveSessionService({
    store: { cameras },
    messenger,
    restreamer,
    config,
    clock,
    push: { publish: (_org, _type, data) => pushed.push(data) },
  });
  const alice = { orgId: 'acme', userId: 'u-alice' };
  const bob = { orgId: 'acme', userId: 'u-bob' };
  /** Moves the fake time forward in steps, letting the bus deliver in between. */
  const pass = async (ms: number, step = 1000) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      await settle();
    }
  };
  return { bus, clock, device, messenger, restreamer, live, pushed, alice, bob, pass };
}

describe('live sessions', () => {
  test('the first viewer starts the stream, the device is commanded, the session goes live; a second viewer joins', async () => {
    const { device, restreamer, live, alice, bob, pushed } = await setup();
    const first = await live.start(alice, 'door', { annotated: true });
    assert.equal(first.created, true);
    assert.ok(['starting', 'live'].includes(first.state), first.state);
    assert.ok(first.playback?.hls.endsWith('.m3u8'));
    await until(() => live.get('acme', first.sessionId).state === 'live');
    const command = device.commands[0] as StartStreamV1;
    assert.equal(command.type, 'StartStream');
    assert.equal(command.streamId, first.sessionId);
    assert.equal(
      command.publishUrl,
      restreamer.openStream({ orgId: 'acme', cameraId: 'door', streamId: first.sessionId }).publishUrl,
    );
    assert.equal(command.annotated, true);
    assert.equal(command.ttlSeconds, 30);
    assert.equal(live.get('acme', first.sessionId).command?.state, 'started');
    assert.ok(
      pushed.some((v) => v.state === 'live'),
      'the change is pushed to the organisation',
    );

    const second = await live.start(bob, 'door', { annotated: true });
    assert.equal(second.created, false);
    assert.equal(second.sessionId, first.sessionId);
    assert.notEqual(second.viewerId, first.viewerId);
    assert.equal(second.viewers, 2);
    assert.equal(device.commands.filter((c) => c.type === 'StartStream').length, 1, 'one stream for both');
    await live.close();
  });

  test('with no heartbeat the viewer is dropped after the idle time and the stream is stopped', async () => {
    const { device, restreamer, live, alice, pass } = await setup();
    const s = await live.start(alice, 'door', { annotated: false });
    await until(() => live.get('acme', s.sessionId).state === 'live');
    await pass(29_000);
    assert.equal(live.get('acme', s.sessionId).state, 'live', 'still within the idle time');
    await pass(2000);
    const after = live.get('acme', s.sessionId);
    assert.equal(after.state, 'stopped');
    assert.equal(after.reason, 'no_viewers');
    assert.match(after.message ?? '', /no viewer sent a heartbeat for 30 s/);
    assert.equal(after.playback, null);
    await until(() => device.commands.some((c) => c.type === 'StopStream' && c.streamId === s.sessionId));
    assert.deepEqual(restreamer.closed, [s.sessionId]);
    await live.close();
  });

  test('heartbeats keep the stream; the StartStream is renewed every third of its TTL', async () => {
    const { device, live, alice, pass } = await setup();
    const s = await live.start(alice, 'door', { annotated: true });
    for (let i = 0; i < 6; i++) {
      await pass(10_000);
      const v = live.heartbeat('acme', s.sessionId, s.viewerId);
      assert.equal(v.state, 'live');
    }
    const starts = device.commands.filter((c) => c.type === 'StartStream');
    assert.ok(starts.length >= 6, `renewed every 10 s (${starts.length} starts in 60 s)`);
    assert.equal(new Set(starts.map((c) => c.streamId)).size, 1, 'the same stream');
    assert.equal(
      new Set(starts.map((c) => c.commandId)).size,
      starts.length,
      'each renewal is a new command',
    );
    assert.ok(!device.commands.some((c) => c.type === 'StopStream'));
    await live.close();
  });

  test('the last viewer leaving stops the stream; the first leaving does not', async () => {
    const { device, restreamer, live, alice, bob } = await setup();
    const a = await live.start(alice, 'door', { annotated: true });
    const b = await live.start(bob, 'door', { annotated: true });
    await until(() => live.get('acme', a.sessionId).state === 'live');
    live.leave('acme', a.sessionId, a.viewerId);
    assert.equal(live.get('acme', a.sessionId).state, 'live');
    assert.equal(live.get('acme', a.sessionId).viewers, 1);
    live.leave('acme', b.sessionId, b.viewerId);
    assert.equal(live.get('acme', a.sessionId).state, 'stopped');
    assert.match(live.get('acme', a.sessionId).message ?? '', /last viewer left/);
    await until(() => device.commands.some((c) => c.type === 'StopStream'));
    await until(() => live.get('acme', a.sessionId).command?.type === 'StopStream');
    await until(() => live.get('acme', a.sessionId).command?.state === 'stopped');
    assert.deepEqual(restreamer.closed, [a.sessionId]);
    // Watching again starts a new session.
    const again = await live.start(alice, 'door', { annotated: true });
    assert.equal(again.created, true);
    assert.notEqual(again.sessionId, a.sessionId);
    await live.close();
  });

  test('a silent device: the session fails with device_unreachable and a clear message', async () => {
    const { device, restreamer, live, alice, pass } = await setup('silent');
    const s = await live.start(alice, 'door', { annotated: true });
    await pass(9000);
    assert.equal(live.get('acme', s.sessionId).state, 'starting');
    await pass(2000);
    const v = live.get('acme', s.sessionId);
    assert.equal(v.state, 'failed');
    assert.equal(v.reason, 'device_unreachable');
    assert.match(v.message ?? '', /the device "edge-1" did not answer within 10 s/);
    assert.equal(v.command?.state, 'timed_out');
    assert.equal(v.playback, null);
    assert.deepEqual(restreamer.closed, [s.sessionId]);
    assert.equal(device.commands.filter((c) => c.type === 'StartStream').length, 3);
    await live.close();
  });

  test("another organisation's session is not found; unknown and disabled cameras are refused", async () => {
    const { live, alice } = await setup();
    const s = await live.start(alice, 'door', { annotated: true });
    assert.throws(() => live.get('other', s.sessionId), { code: 'ICEBERG_ERR_NOT_FOUND' });
    assert.throws(() => live.heartbeat('other', s.sessionId, s.viewerId), { code: 'ICEBERG_ERR_NOT_FOUND' });
    assert.throws(() => live.leave('other', s.sessionId, s.viewerId), { code: 'ICEBERG_ERR_NOT_FOUND' });
    assert.equal(live.get('acme', s.sessionId).viewers, 1, 'nothing changed');
    await assert.rejects(live.start({ orgId: 'other', userId: 'x' }, 'door', { annotated: true }), {
      code: 'ICEBERG_ERR_NOT_FOUND',
    });
    await assert.rejects(live.start(alice, 'nope', { annotated: true }), { code: 'ICEBERG_ERR_NOT_FOUND' });
    await assert.rejects(live.start(alice, 'off', { annotated: true }), { code: 'ICEBERG_ERR_CONFLICT' });
    assert.throws(() => live.heartbeat('acme', s.sessionId, 'v-unknown'), { code: 'ICEBERG_ERR_NOT_FOUND' });
    await live.close();
  });

  test('the device giving up on a running stream fails the session with its reason', async () => {
    const { device, live, alice } = await setup();
    const s = await live.start(alice, 'door', { annotated: true });
    await until(() => live.get('acme', s.sessionId).state === 'live');
    await device.ack(device.commands[0]!, 'stopped', 'ttl_expired');
    await until(() => live.get('acme', s.sessionId).state === 'failed');
    assert.equal(live.get('acme', s.sessionId).reason, 'ttl_expired');
    await live.close();
  });
});
