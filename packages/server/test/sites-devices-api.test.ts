import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AlertStatus, DeviceStatusV1 } from '@iceberg/contracts';
import { examples } from '@iceberg/contracts';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../src/http/app.ts';
import { registerAuthRoutes } from '../src/http/routes/auth.routes.ts';
import { registerDeviceRoutes } from '../src/http/routes/devices.routes.ts';
import { registerSiteRoutes } from '../src/http/routes/sites.routes.ts';
import type { LiveMessageType } from '../src/live/ws-hub.ts';
import { alertInput, createEventsApp, type EventsTestApp, T0 } from './events-helpers.ts';
import { createTenantHarness, type TenantHarness } from './tenant-api-helpers.ts';

type Site = { id: string; name: string; timeZone: string; createdAt: number };
type Device = {
  id: string;
  name: string;
  siteId: string | null;
  lastSeenAt: number | null;
  status: DeviceStatusV1 | null;
  createdAt: number;
};
type ErrorBody = { error: { code: string; message: string; details?: { issues?: Array<{ path: string }> } } };

describe('sites and devices API', () => {
  let h: TenantHarness;
  /** The auth, site and device routes, on the harness's store (the harness app has neither). */
  let api: FastifyInstance;
  const tokens = new Map<string, string>();
  const owner = 'owner@org-a.test';
  const admin = 'admin@org-a.test';
  const viewer = 'viewer@org-a.test';
  const ownerB = 'owner@org-b.test';
  const as = async (email: string, request: InjectOptions) => {
    const token = tokens.get(email) ?? (await h.login(email));
    tokens.set(email, token);
    return api.inject({
      ...request,
      headers: { ...(request.headers ?? {}), authorization: `Bearer ${token}` },
    });
  };
  const heartbeat = (orgId: string, deviceId: string, at: number): DeviceStatusV1 => ({
    ...examples.deviceStatus,
    orgId,
    deviceId,
    at,
  });

  let seenAt = 0;
  before(async () => {
    h = await createTenantHarness();
    seenAt = h.clock.now() + 1_000;
    api = await buildApp({ logger: h.deps.logger }, async (a) => {
      await registerAuthRoutes(a, h.deps);
      await registerSiteRoutes(a, h.deps);
      await registerDeviceRoutes(a, h.deps);
    });
    await h.store.devices.upsertFromHeartbeat(heartbeat('org-a', 'edge-a1', h.clock.now()));
    await h.store.devices.upsertFromHeartbeat(heartbeat('org-a', 'edge-a2', seenAt));
    await h.store.devices.upsertFromHeartbeat(heartbeat('org-b', 'edge-b1', h.clock.now()));
    await h.store.sites.create({ orgId: 'org-b', id: 'site-b', name: 'B', createdAt: h.clock.now() });
  });
  after(async () => {
    await api.close();
    await h.close();
  });

  test('an admin adds a site; a viewer lists and reads it', async () => {
    const r = await as(admin, {
      method: 'POST',
      url: '/api/sites',
      payload: { id: 'hq', name: 'Head office', timeZone: 'Europe/London' },
    });
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(r.json(), {
      id: 'hq',
      name: 'Head office',
      timeZone: 'Europe/London',
      createdAt: h.clock.now(),
    });
    h.clock.advance(1_000);
    const generated = await as(owner, {
      method: 'POST',
      url: '/api/sites',
      payload: { name: 'Warehouse', timeZone: 'UTC' },
    });
    assert.equal(generated.statusCode, 201, generated.body);
    assert.ok((generated.json() as Site).id.length > 0);

    const list = await as(viewer, { method: 'GET', url: '/api/sites' });
    assert.equal(list.statusCode, 200, list.body);
    const items = (list.json() as { items: Site[] }).items;
    assert.deepEqual(
      items.map((s) => s.name),
      ['Head office', 'Warehouse'],
    );
    assert.equal((await as(viewer, { method: 'GET', url: '/api/sites/hq' })).statusCode, 200);
    const dup = await as(owner, {
      method: 'POST',
      url: '/api/sites',
      payload: { id: 'hq', name: 'Again', timeZone: 'UTC' },
    });
    assert.equal(dup.statusCode, 409, dup.body);
  });

  test('a time zone Intl does not know → 400 naming timeZone', async () => {
    for (const request of [
      { method: 'POST', url: '/api/sites', payload: { name: 'X', timeZone: 'Mars/Olympus' } },
      { method: 'POST', url: '/api/sites', payload: { name: 'X', timeZone: '' } },
      { method: 'PATCH', url: '/api/sites/hq', payload: { timeZone: 'Not a zone' } },
    ] as InjectOptions[]) {
      const r = await as(owner, request);
      assert.equal(r.statusCode, 400, `${request.method} ${JSON.stringify(request.payload)}: ${r.body}`);
      const body = r.json() as ErrorBody;
      assert.equal(body.error.code, 'ICEBERG_ERR_INPUT_INVALID');
      assert.deepEqual(
        body.error.details?.issues?.map((i) => i.path),
        ['body.timeZone'],
      );
    }
  });

  test('PATCH a site changes what is given', async () => {
    const r = await as(admin, { method: 'PATCH', url: '/api/sites/hq', payload: { timeZone: 'Asia/Tokyo' } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((r.json() as Site).timeZone, 'Asia/Tokyo');
    assert.equal((r.json() as Site).name, 'Head office');
  });

  test('devices: listed with their heartbeat, read, renamed and moved to a site', async () => {
    const list = await as(viewer, { method: 'GET', url: '/api/devices?limit=1' });
    assert.equal(list.statusCode, 200, list.body);
    const page = list.json() as { items: Device[]; nextCursor: string | null };
    assert.deepEqual(
      page.items.map((d) => d.id),
      ['edge-a1'],
    );
    assert.ok(page.nextCursor);
    const next = await as(viewer, {
      method: 'GET',
      url: `/api/devices?limit=1&cursor=${encodeURIComponent(page.nextCursor)}`,
    });
    assert.deepEqual(
      (next.json() as { items: Device[] }).items.map((d) => d.id),
      ['edge-a2'],
    );

    const one = await as(viewer, { method: 'GET', url: '/api/devices/edge-a2' });
    assert.equal(one.statusCode, 200, one.body);
    const device = one.json() as Device;
    assert.equal(device.lastSeenAt, seenAt);
    assert.equal(device.status?.schema, 'device-status.v1');
    assert.equal(device.status?.deviceId, 'edge-a2');
    assert.equal(device.status?.state, examples.deviceStatus.state);
    assert.equal(device.siteId, null);

    const moved = await as(admin, {
      method: 'PATCH',
      url: '/api/devices/edge-a2',
      payload: { name: 'Gate NVR', siteId: 'hq' },
    });
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal((moved.json() as Device).name, 'Gate NVR');
    assert.equal((moved.json() as Device).siteId, 'hq');
    const bySite = await as(viewer, { method: 'GET', url: '/api/devices?siteId=hq' });
    assert.deepEqual(
      (bySite.json() as { items: Device[] }).items.map((d) => d.id),
      ['edge-a2'],
    );
  });

  test('a site that is not the organisation’s → 400 naming siteId', async () => {
    for (const siteId of ['nowhere', 'site-b']) {
      const r = await as(owner, { method: 'PATCH', url: '/api/devices/edge-a1', payload: { siteId } });
      assert.equal(r.statusCode, 400, r.body);
      const body = r.json() as ErrorBody;
      assert.equal(body.error.code, 'ICEBERG_ERR_INPUT_INVALID');
      assert.deepEqual(
        body.error.details?.issues?.map((i) => i.path),
        ['body.siteId'],
      );
    }
    assert.equal((await h.store.devices.get('org-a', 'edge-a1'))?.siteId, null);
  });

  test('a viewer cannot add, change or delete sites or devices (403)', async () => {
    const writes: InjectOptions[] = [
      { method: 'POST', url: '/api/sites', payload: { name: 'Mine', timeZone: 'UTC' } },
      { method: 'POST', url: '/api/sites', payload: { nonsense: true } },
      { method: 'PATCH', url: '/api/sites/hq', payload: { name: 'Mine' } },
      { method: 'DELETE', url: '/api/sites/hq' },
      { method: 'PATCH', url: '/api/devices/edge-a1', payload: { name: 'Mine' } },
      { method: 'DELETE', url: '/api/devices/edge-a1' },
    ];
    for (const request of writes) {
      const r = await as(viewer, request);
      assert.equal(r.statusCode, 403, `${request.method} ${request.url}: ${r.body}`);
      assert.equal((r.json() as ErrorBody).error.code, 'ICEBERG_ERR_FORBIDDEN');
    }
    assert.equal((await h.store.sites.get('org-a', 'hq'))?.name, 'Head office');
    assert.equal((await h.store.devices.get('org-a', 'edge-a1'))?.name, 'edge-a1');
  });

  test('another organisation’s sites and devices are 404 and never listed', async () => {
    const requests: InjectOptions[] = [
      { method: 'GET', url: '/api/sites/site-b' },
      { method: 'PATCH', url: '/api/sites/site-b', payload: { name: 'taken' } },
      { method: 'DELETE', url: '/api/sites/site-b' },
      { method: 'GET', url: '/api/devices/edge-b1' },
      { method: 'PATCH', url: '/api/devices/edge-b1', payload: { name: 'taken' } },
      { method: 'DELETE', url: '/api/devices/edge-b1' },
    ];
    for (const request of requests) {
      const r = await as(owner, request);
      assert.equal(r.statusCode, 404, `${request.method} ${request.url}: ${r.body}`);
      assert.equal((r.json() as ErrorBody).error.code, 'ICEBERG_ERR_NOT_FOUND');
    }
    const sites = (await as(owner, { method: 'GET', url: '/api/sites' })).json() as { items: Site[] };
    assert.ok(!sites.items.some((s) => s.id === 'site-b'));
    const devices = (await as(owner, { method: 'GET', url: '/api/devices' })).json() as { items: Device[] };
    assert.deepEqual(
      devices.items.map((d) => d.id),
      ['edge-a1', 'edge-a2'],
    );
    const b = (await as(ownerB, { method: 'GET', url: '/api/devices' })).json() as { items: Device[] };
    assert.deepEqual(
      b.items.map((d) => d.id),
      ['edge-b1'],
    );
    const bSites = (await as(ownerB, { method: 'GET', url: '/api/sites' })).json() as { items: Site[] };
    assert.deepEqual(
      bSites.items.map((s) => s.id),
      ['site-b'],
    );
    assert.equal((await h.store.sites.get('org-b', 'site-b'))?.name, 'B');
    assert.equal((await h.store.devices.get('org-b', 'edge-b1'))?.name, 'edge-b1');
  });

  test('deleting a site leaves its devices without a site; deleting a device removes it', async () => {
    const r = await as(owner, { method: 'DELETE', url: '/api/sites/hq' });
    assert.equal(r.statusCode, 204, r.body);
    assert.equal((await as(owner, { method: 'GET', url: '/api/sites/hq' })).statusCode, 404);
    assert.equal((await as(owner, { method: 'DELETE', url: '/api/sites/hq' })).statusCode, 404);
    const device = (await as(owner, { method: 'GET', url: '/api/devices/edge-a2' })).json() as Device;
    assert.equal(device.siteId, null);

    const d = await as(admin, { method: 'DELETE', url: '/api/devices/edge-a1' });
    assert.equal(d.statusCode, 204, d.body);
    assert.equal((await as(owner, { method: 'GET', url: '/api/devices/edge-a1' })).statusCode, 404);
  });

  test('no token → 401', async () => {
    for (const url of ['/api/sites', '/api/devices', '/api/devices/edge-a2']) {
      assert.equal((await api.inject({ method: 'GET', url })).statusCode, 401, url);
    }
  });

  test('the OpenAPI document describes every site and device route', async () => {
    const doc = (await api.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, { summary?: string; tags?: string[]; security?: unknown }>>;
    };
    const ops = [
      ['/api/sites', 'get', 'sites'],
      ['/api/sites', 'post', 'sites'],
      ['/api/sites/{id}', 'patch', 'sites'],
      ['/api/sites/{id}', 'delete', 'sites'],
      ['/api/devices', 'get', 'devices'],
      ['/api/devices/{id}', 'get', 'devices'],
      ['/api/devices/{id}', 'patch', 'devices'],
      ['/api/devices/{id}', 'delete', 'devices'],
    ] as const;
    for (const [path, method, tag] of ops) {
      const op = doc.paths[path]?.[method];
      assert.ok(op?.summary, `${method} ${path}`);
      assert.deepEqual(op.tags, [tag]);
      assert.deepEqual(op.security, [{ bearer: [] }]);
    }
  });
});

describe('alert status: concurrent reviews', () => {
  let t: EventsTestApp;
  const pushed: Array<{ orgId: string; type: LiveMessageType; data: unknown }> = [];
  const A = 'owner@org-a.test';

  before(async () => {
    t = await createEventsApp();
    const publish = t.deps.hub.publish.bind(t.deps.hub);
    t.deps.hub.publish = (orgId, type, data) => {
      pushed.push({ orgId, type, data });
      publish(orgId, type, data);
    };
  });
  after(() => t.close());

  test('acknowledge and resolve at once: the final state matches exactly the pushes made', async () => {
    for (let i = 0; i < 10; i++) {
      const id = `race-${i}`;
      await t.store.alerts.insertIfNew(alertInput({ orgId: 'org-a', id, at: T0 + i }));
      pushed.length = 0;
      const order: AlertStatus[] = i % 2 === 0 ? ['acknowledged', 'resolved'] : ['resolved', 'acknowledged'];
      const responses = await Promise.all(
        order.map((status) => t.as(A, { method: 'PATCH', url: `/api/alerts/${id}`, payload: { status } })),
      );
      const final = await t.store.alerts.get('org-a', id);
      assert.equal(final?.status, 'resolved', 'resolve always wins: it is the furthest status');
      const statuses = pushed.map((p) => (p.data as { status: AlertStatus }).status);
      // Either ack then resolve (both pushed), or resolve first and the ack is refused (409).
      const byStatus = new Map(order.map((s, k) => [s, responses[k]!]));
      const ack = byStatus.get('acknowledged')!;
      const resolve = byStatus.get('resolved')!;
      assert.equal(resolve.statusCode, 200, resolve.body);
      if (ack.statusCode === 200) {
        assert.deepEqual(statuses, ['acknowledged', 'resolved']);
      } else {
        assert.equal(ack.statusCode, 409, ack.body);
        assert.deepEqual(statuses, ['resolved']);
      }
      assert.equal(pushed.at(-1)?.type, 'alert-updated');
      assert.deepEqual(pushed.at(-1)?.data, resolve.json());
    }
  });

  test('two identical changes at once: one applies and pushes, the other is unchanged', async () => {
    await t.store.alerts.insertIfNew(alertInput({ orgId: 'org-a', id: 'twin', at: T0 + 100 }));
    pushed.length = 0;
    const responses = await Promise.all(
      [0, 1].map(() =>
        t.as(A, { method: 'PATCH', url: '/api/alerts/twin', payload: { status: 'acknowledged' } }),
      ),
    );
    for (const r of responses) assert.equal(r.statusCode, 200, r.body);
    assert.equal(pushed.length, 1);
    assert.deepEqual(pushed[0]?.data, responses[0]?.json());
    assert.deepEqual(responses[0]?.json(), responses[1]?.json());
  });

  test('setStatusIf writes only while the status is the one expected', async () => {
    await t.store.alerts.insertIfNew(alertInput({ orgId: 'org-a', id: 'cond', at: T0 + 200 }));
    const stale = await t.store.alerts.setStatusIf('org-a', 'cond', 'acknowledged', 'resolved', 'u', T0);
    assert.equal(stale, undefined);
    const ok = await t.store.alerts.setStatusIf('org-a', 'cond', 'new', 'acknowledged', 'u', T0 + 1);
    assert.equal(ok?.status, 'acknowledged');
    assert.equal(ok?.statusBy, 'u');
    const other = await t.store.alerts.setStatusIf('org-b', 'cond', 'acknowledged', 'resolved', 'u', T0);
    assert.equal(other, undefined, 'another organisation’s alert is not found');
  });
});
