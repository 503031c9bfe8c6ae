import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyWebhookSignature } from '@iceberg/actions';
import { silentLogger } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import { type AlertV1, examples } from '@iceberg/contracts';
import { RuleEvaluator } from '@iceberg/server';
import WebSocket from 'ws';
import { type AllInOne, startAllInOne } from '../src/commands/all-in-one.ts';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const email = 'owner@demo.test';
const password = 'a-long-demo-password';

async function until<T>(
  what: string,
  get: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('all-in-one: sample camera → edge → bus → rules → alert pushed live → API', {
  timeout: 120_000,
}, () => {
  let app: AllInOne;
  let token: string;
  const live: AlertV1[] = [];
  let ws: WebSocket;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${app.server.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });

  before(async () => {
    const config = loadConfig({
      baseDir: root,
      overrides: {
        dataDir: mkdtempSync(join(tmpdir(), 'iceberg-aio-')),
        log: { level: 'silent' },
        server: { port: 0, admin: { email, password, org: 'Demo' }, restream: { rtmpPort: 0 } },
        cameras: [{ id: 'demo', input: join(root, 'assets/samples/vtest.mp4'), loop: true, realtime: true }],
      },
    });
    app = await startAllInOne(config, { withDemoRule: true });
  });
  after(async () => {
    ws?.close();
    await app?.stop();
  });

  test('the first start creates the organisation and the admin, who can log in', async () => {
    assert.equal(app.server.admin.created, true);
    const r = await fetch(`${app.server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    assert.equal(r.status, 200);
    token = ((await r.json()) as { token: string }).token;
  });

  test('a person entering the zone raises an alert that arrives on the WebSocket with its snapshot', async () => {
    ws = new WebSocket(`${app.server.url.replace(/^http/, 'ws')}/api/ws?token=${token}&topics=alerts`);
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; data: AlertV1 };
      if (m.type === 'alert') live.push(m.data);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const alert = await until('a live alert', () => live[0]);
    assert.equal(alert.ruleName, 'Person on the path');
    assert.equal(alert.class, 'person');
    assert.equal(alert.reason, 'enter');
    assert.equal(alert.cameraId, 'demo');
    assert.ok(Date.now() - alert.at < 5000, 'pushed within seconds of the frame');
    assert.match(
      alert.snapshot ?? '',
      new RegExp(`^snapshots/${app.server.admin.orgId}/demo/\\d{8}/.+\\.jpg$`),
    );
  });

  test("the alert's snapshot is served as a JPEG", async () => {
    const r = await api(`/api/alerts/${live[0]!.id}/snapshot`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /image\/jpeg/);
    const jpeg = Buffer.from(await r.arrayBuffer());
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
  });

  test("a rule's webhook receives the alert, signed, and the delivery is recorded", async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/iceberg`;
      const created = await api('/api/rules', {
        method: 'POST',
        body: JSON.stringify({
          name: 'Anyone, to the webhook',
          cameras: ['demo'],
          classes: ['person'],
          trigger: { type: 'anywhere' },
          actions: [{ type: 'webhook', url, secret: 'hook-secret' }],
        }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      const delivery = await until('a webhook delivery', () => received[0]);
      const alert = JSON.parse(delivery.body) as AlertV1;
      assert.equal(alert.ruleName, 'Anyone, to the webhook');
      assert.ok(
        verifyWebhookSignature({
          secret: 'hook-secret',
          body: delivery.body,
          timestamp: String(delivery.headers['x-iceberg-timestamp']),
          signature: String(delivery.headers['x-iceberg-signature']),
        }),
        'the signature verifies with the documented recipe',
      );
      const outcomes = await until('the recorded outcome', async () => {
        const list = await app.server.store.actionOutcomes.listForAlert(app.server.admin.orgId, alert.id);
        return list.length > 0 ? list : undefined;
      });
      assert.equal(outcomes[0]!.ok, true);
      assert.equal(outcomes[0]!.statusCode, 204);
      // Switched off again: the replay below runs the rules that watched the whole stream.
      const id = ((await created.json()) as { id: string }).id;
      assert.equal(
        (await api(`/api/rules/${id}`, { method: 'PATCH', body: JSON.stringify({ enabled: false }) })).status,
        200,
      );
    } finally {
      hook.close();
    }
  });

  test('the API lists the alert and the tracks (events) of the camera', async () => {
    const alerts = (await (await api('/api/alerts?cameraId=demo')).json()) as {
      items: Array<{ id: string }>;
    };
    assert.ok(alerts.items.some((a) => a.id === live[0]!.id));
    const events = (await (await api('/api/events?cameraId=demo&class=person')).json()) as {
      items: Array<{ trackId: string }>;
    };
    assert.ok(events.items.length > 0);
  });

  test('a malformed message on the bus is parked as a dead letter that an admin sees, and counted', async () => {
    await app.bus.transport.produce([
      {
        topic: 'detections',
        key: `${app.server.admin.orgId}/demo`,
        value: Buffer.from('{"schema":"detection.v1","oops":'),
        headers: { 'iceberg-org': app.server.admin.orgId },
      },
    ]);
    const letters = await until('the dead letter in the API', async () => {
      const body = (await (await api('/api/dead-letters')).json()) as {
        items: Array<{ topic: string; reason: string; error: string }>;
      };
      return body.items.length > 0 ? body.items : undefined;
    });
    assert.equal(letters[0]!.topic, 'detections');
    assert.equal(letters[0]!.reason, 'invalid');
    assert.match(letters[0]!.error, /not JSON/);
    // Parked once (by the store's consumers), counted once.
    const metrics = await until('the invalid message counted', async () => {
      const text = await (await fetch(`${app.server.url}/metrics`)).text();
      return /iceberg_bus_messages_invalid_total\{topic="detections"\} \d+/.test(text) ? text : undefined;
    });
    assert.equal(/iceberg_bus_messages_invalid_total\{topic="detections"\} (\d+)/.exec(metrics)?.[1], '1');
    assert.equal(letters.length, 1);
    // The pipeline carries on: detections are still consumed after the bad one.
    const before = Number(
      /iceberg_bus_messages_consumed_total\{topic="detections"\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
    await until('more detections consumed', async () => {
      const now = await (await fetch(`${app.server.url}/metrics`)).text();
      const n = Number(/iceberg_bus_messages_consumed_total\{topic="detections"\} (\d+)/.exec(now)?.[1] ?? 0);
      return n > before ? n : undefined;
    });
  });

  test("a device's outbox backlog, from its heartbeat, shows in its status and in the server's metrics", async () => {
    const orgId = app.server.admin.orgId;
    const at = Date.now();
    await app.bus.publish('deviceStatus', {
      ...examples.deviceStatus,
      orgId,
      deviceId: 'remote-edge',
      at,
      outbox: { pendingMessages: 1234, pendingBytes: 567_890, oldestPendingAt: at - 20_000, shed: 0 },
    });
    const device = await until('the device listed', async () => {
      const body = (await (await api('/api/devices')).json()) as {
        items: Array<{ id: string; status: { outbox?: { pendingMessages: number } } | null }>;
      };
      return body.items.find((d) => d.id === 'remote-edge');
    });
    assert.equal(device.status?.outbox?.pendingMessages, 1234);
    const text = await (await fetch(`${app.server.url}/metrics`)).text();
    assert.match(text, /^iceberg_devices_outbox_pending_messages 1234$/m);
    assert.match(text, /^iceberg_devices_outbox_pending_bytes 567890$/m);
    const age = Number(/^iceberg_devices_outbox_oldest_pending_seconds (\S+)$/m.exec(text)?.[1]);
    assert.ok(age >= 20 && age < 60, `oldest pending ${age} s`);
    assert.ok(!text.includes('remote-edge') && !text.includes(orgId), 'no tenant ids in the metrics');
  });

  test('replaying every event of the bus through a fresh rules engine creates no second alert', async () => {
    await app.agent?.stop();
    await new Promise((r) => setTimeout(r, 500));
    const count = async () =>
      (await app.server.store.alerts.list(app.server.admin.orgId, {}, { limit: 500 })).items.length;
    const before = await count();
    assert.ok(before > 0);
    const replay = new RuleEvaluator({
      bus: app.bus,
      store: app.server.store,
      alerts: app.server.alerts,
      clock: { now: () => Date.now(), setTimeout: () => ({ id: 0 }), clearTimeout: () => {} },
      logger: silentLogger(),
      group: 'replay',
      fromBeginning: true,
    });
    await replay.start();
    await new Promise((r) => setTimeout(r, 3000));
    await replay.stop();
    assert.equal(await count(), before);
  });
});
