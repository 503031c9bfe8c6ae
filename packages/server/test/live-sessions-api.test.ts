import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bus } from '@iceberg/bus';
import type { ManualClock } from '@iceberg/common';
import { examples } from '@iceberg/contracts';
import { devicePresenceFromStore } from '../src/live/device-presence.ts';
import { LiveSessionService } from '../src/live/live-session.service.ts';
import { memoryBus, RecordingRestreamer, ScriptedDevice, until } from '../src/live/live-test-helpers.ts';
import { Messenger } from '../src/live/messenger.ts';
import { createHarness, type Harness } from './api-harness.ts';

type Session = {
  sessionId: string;
  viewerId: string;
  created: boolean;
  state: string;
  reason: string | null;
  message: string | null;
  viewers: number;
  playback: { hls: string; ws: string; expiresAt: number } | null;
  command: { id: string; state: string; reason: string | null; attempts: number } | null;
};

describe('live sessions API', () => {
  let h: Harness;
  let bus: Bus;
  let device: ScriptedDevice;
  let messenger: Messenger;
  const owner = 'owner@org-a.test';
  const viewer = 'viewer@org-a.test';
  const ownerB = 'owner@org-b.test';

  before(async () => {
    h = await createHarness();
    bus = memoryBus();
    const clock = h.deps.clock as ManualClock;
    const config = h.deps.config.live;
    messenger = new Messenger({
      bus,
      clock,
      config,
      presence: devicePresenceFromStore(h.store, config.deviceOfflineSeconds, clock),
    });
    await messenger.start();
    h.deps.live = new LiveSessionService({
      store: h.store,
      messenger,
      restreamer: new RecordingRestreamer(),
      config,
      push: h.deps.hub,
      clock,
    });
    // edge-1 is online (it sent a heartbeat just now) and answers; edge-9 never connected.
    await h.store.devices.upsertFromHeartbeat({
      ...examples.deviceStatus,
      orgId: h.orgs.a,
      deviceId: 'edge-1',
      at: clock.now(),
    });
    device = new ScriptedDevice(bus, h.orgs.a, 'edge-1');
    device.answer = (c) => (c.type === 'StartStream' ? ['accepted', 'started'] : ['stopped']);
    await device.start();
    await h.store.cameras.create({
      orgId: h.orgs.a,
      id: 'door',
      deviceId: 'edge-1',
      name: 'Door',
      input: '/x.mp4',
    });
    await h.store.cameras.create({
      orgId: h.orgs.a,
      id: 'yard',
      deviceId: 'edge-9',
      name: 'Yard',
      input: '/y.mp4',
    });
  });
  after(async () => {
    await h.deps.live?.close();
    await messenger.stop();
    await h.close();
  });

  test('a viewer starts watching: 201 with the session, its viewer id and signed playback URLs; another joins with 200', async () => {
    const r = await h.as(viewer, { method: 'POST', url: '/api/cameras/door/live', payload: {} });
    assert.equal(r.statusCode, 201, r.body);
    const s = r.json() as Session;
    assert.equal(s.created, true);
    assert.ok(s.playback?.hls.endsWith('index.m3u8'));
    assert.ok(s.playback?.ws);
    assert.ok(s.command?.id);
    await until(() => device.commands.length > 0);
    assert.equal(
      device.commands[0]?.type === 'StartStream' && device.commands[0].annotated,
      true,
      'annotated by default',
    );

    await until(() => h.deps.live!.get(h.orgs.a, s.sessionId).state === 'live');
    const got = await h.as(owner, { method: 'GET', url: `/api/live/${s.sessionId}` });
    assert.equal(got.statusCode, 200);
    assert.equal((got.json() as Session).state, 'live');
    assert.equal((got.json() as Session).command?.state, 'started');

    const join = await h.as(owner, {
      method: 'POST',
      url: '/api/cameras/door/live',
      payload: { annotated: true },
    });
    assert.equal(join.statusCode, 200, join.body);
    const joined = join.json() as Session;
    assert.equal(joined.sessionId, s.sessionId);
    assert.equal(joined.viewers, 2);

    const hb = await h.as(viewer, {
      method: 'POST',
      url: `/api/live/${s.sessionId}/heartbeat`,
      payload: { viewerId: s.viewerId },
    });
    assert.equal(hb.statusCode, 200, hb.body);

    // Another organisation sees neither the camera nor the session.
    const other = await h.as(ownerB, { method: 'POST', url: '/api/cameras/door/live', payload: {} });
    assert.equal(other.statusCode, 404);
    for (const req of [
      { method: 'GET' as const, url: `/api/live/${s.sessionId}` },
      {
        method: 'POST' as const,
        url: `/api/live/${s.sessionId}/heartbeat`,
        payload: { viewerId: s.viewerId },
      },
      { method: 'DELETE' as const, url: `/api/live/${s.sessionId}?viewerId=${s.viewerId}` },
    ]) {
      const res = await h.as(ownerB, req);
      assert.equal(res.statusCode, 404, `${req.method} ${req.url}`);
    }

    // Both leave: the stream stops and the device is told so.
    for (const id of [s.viewerId, joined.viewerId]) {
      const del = await h.as(viewer, { method: 'DELETE', url: `/api/live/${s.sessionId}?viewerId=${id}` });
      assert.equal(del.statusCode, 204);
    }
    const ended = (await h.as(owner, { method: 'GET', url: `/api/live/${s.sessionId}` })).json() as Session;
    assert.equal(ended.state, 'stopped');
    assert.equal(ended.reason, 'no_viewers');
    assert.equal(ended.playback, null);
    await until(() => device.commands.some((c) => c.type === 'StopStream' && c.streamId === s.sessionId));
  });

  test('a camera on an offline device: the session fails at once with the reason', async () => {
    const r = await h.as(owner, {
      method: 'POST',
      url: '/api/cameras/yard/live',
      payload: { annotated: false },
    });
    assert.equal(r.statusCode, 201, r.body);
    const s = r.json() as Session;
    assert.equal(s.state, 'failed');
    assert.equal(s.reason, 'device_offline');
    assert.match(s.message ?? '', /edge-9.*offline/);
    assert.equal(s.command?.state, 'failed');
    assert.equal(s.playback, null);
  });

  test('bad requests are refused with the field named', async () => {
    const bad = await h.as(owner, {
      method: 'POST',
      url: '/api/cameras/door/live',
      payload: { annotated: 'yes' },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /annotated/);
    const extra = await h.as(owner, {
      method: 'POST',
      url: '/api/cameras/door/live',
      payload: { colour: 1 },
    });
    assert.equal(extra.statusCode, 400);
    const noViewer = await h.as(owner, { method: 'POST', url: '/api/live/ls-x/heartbeat', payload: {} });
    assert.equal(noViewer.statusCode, 400);
    const unknown = await h.as(owner, { method: 'GET', url: '/api/live/ls-unknown' });
    assert.equal(unknown.statusCode, 404);
    const anon = await h.app.inject({ method: 'POST', url: '/api/cameras/door/live', payload: {} });
    assert.equal(anon.statusCode, 401);
  });

  test('without a re-streaming server the live routes answer 503', async () => {
    const live = h.deps.live;
    delete h.deps.live;
    try {
      const r = await h.as(owner, { method: 'POST', url: '/api/cameras/door/live', payload: {} });
      assert.equal(r.statusCode, 503);
      assert.equal((r.json() as { error: { code: string } }).error.code, 'ICEBERG_ERR_RESTREAM_UNAVAILABLE');
    } finally {
      h.deps.live = live;
    }
  });
});
