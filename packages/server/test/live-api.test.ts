import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashToken } from '@iceberg/store';
import WebSocket from 'ws';
import { alertInput, createEventsApp, type EventsTestApp, T0 } from './events-helpers.ts';

interface Frame {
  type: string;
  data: { id?: string; orgId?: string; [key: string]: unknown };
}

/** A connected client that queues what the server sends. */
interface Client {
  socket: WebSocket;
  next(timeoutMs?: number): Promise<Frame>;
  close(): Promise<void>;
}

type Outcome = { client: Client } | { status: number; body: string };

function connect(url: string, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const frames: Frame[] = [];
    const waiting: Array<(f: Frame) => void> = [];
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      const w = waiting.shift();
      if (w) w(frame);
      else frames.push(frame);
    });
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += String(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.on('error', (err) => reject(err));
    socket.on('open', () =>
      resolve({
        client: {
          socket,
          next: (timeoutMs = 2_000) =>
            new Promise<Frame>((res, rej) => {
              const f = frames.shift();
              if (f) return res(f);
              const timer = setTimeout(() => rej(new Error('no frame within the time limit')), timeoutMs);
              waiting.push((frame) => {
                clearTimeout(timer);
                res(frame);
              });
            }),
          close: () =>
            new Promise<void>((res) => {
              if (socket.readyState === WebSocket.CLOSED) return res();
              socket.once('close', () => res());
              socket.close();
            }),
        },
      }),
    );
  });
}

async function open(url: string, headers?: Record<string, string>): Promise<Client> {
  const o = await connect(url, headers);
  if (!('client' in o)) throw new Error(`upgrade refused: ${o.status} ${o.body}`);
  return o.client;
}

async function refused(
  url: string,
  headers?: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const o = await connect(url, headers);
  if ('client' in o) {
    await o.client.close();
    throw new Error('the upgrade was accepted');
  }
  return o;
}

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('live push over WebSocket: authenticated, per organisation, per channel', () => {
  let t: EventsTestApp;
  let base: string;
  const url = (email: string, query = '') =>
    `${base}/api/ws?token=${encodeURIComponent(t.token(email))}${query}`;

  before(async () => {
    t = await createEventsApp();
    base = await t.listen();
  });
  after(() => t.close());

  test('a missing or bad token is refused with 401 before any WebSocket exists', async () => {
    for (const u of [
      `${base}/api/ws`,
      `${base}/api/ws?token=nope`,
      `${base}/api/ws?token=`,
      `${base}/api/ws?topics=detections`,
    ]) {
      const r = await refused(u);
      assert.equal(r.status, 401, u);
      assert.match(r.body, /ICEBERG_ERR_UNAUTHENTICATED/);
    }
    const header = await refused(`${base}/api/ws`, { authorization: 'Bearer not-a-token' });
    assert.equal(header.status, 401);
    assert.equal(t.deps.hub.size, 0);
  });

  test('unknown topics are a 400 naming the parameter', async () => {
    for (const q of ['&topics=alerts,secrets', '&topics=', '&topics=ALERTS']) {
      const r = await refused(url('viewer@org-a.test', q));
      assert.equal(r.status, 400, q);
      assert.match(r.body, /querystring\.topics/);
    }
  });

  test('a plain GET (no upgrade) is told to upgrade', async () => {
    const r = await t.app.inject({
      method: 'GET',
      url: '/api/ws',
      headers: { authorization: `Bearer ${t.token('owner@org-a.test')}` },
    });
    assert.equal(r.statusCode, 426);
    assert.match(r.body, /WebSocket/);
  });

  test('a client gets its organisation’s alerts and never another organisation’s', async () => {
    const a = await open(url('viewer@org-a.test'));
    const b = await open(url('viewer@org-b.test', '&topics=alerts'));
    // Sent in order on each socket: if org-b's alert reached the org-a client it would come first.
    t.deps.hub.publish('org-b', 'alert', { id: 'for-b', orgId: 'org-b' });
    t.deps.hub.publish('org-a', 'alert', { id: 'for-a', orgId: 'org-a' });
    assert.deepEqual(await a.next(), { type: 'alert', data: { id: 'for-a', orgId: 'org-a' } });
    assert.deepEqual(await b.next(), { type: 'alert', data: { id: 'for-b', orgId: 'org-b' } });
    await Promise.all([a.close(), b.close()]);
  });

  test('a client gets only the channels it asked for', async () => {
    const alertsOnly = await open(url('owner@org-a.test'));
    const both = await open(url('admin@org-a.test', '&topics=detections,alerts'));
    const status = await open(`${base}/api/ws?topics=status`, {
      authorization: `Bearer ${t.token('owner@org-a.test')}`,
    });
    t.deps.hub.publish('org-a', 'detection', { seq: 1 });
    t.deps.hub.publish('org-a', 'camera-status', { cameraId: 'front-door', state: 'online' });
    t.deps.hub.publish('org-a', 'alert', { id: 'x' });
    assert.deepEqual(await alertsOnly.next(), { type: 'alert', data: { id: 'x' } });
    assert.deepEqual(await both.next(), { type: 'detection', data: { seq: 1 } });
    assert.deepEqual(await both.next(), { type: 'alert', data: { id: 'x' } });
    assert.deepEqual(await status.next(), {
      type: 'camera-status',
      data: { cameraId: 'front-door', state: 'online' },
    });
    await Promise.all([alertsOnly.close(), both.close(), status.close()]);
  });

  test('acknowledging an alert over HTTP pushes alert-updated to that organisation only', async () => {
    await t.store.alerts.insertIfNew(alertInput({ orgId: 'org-a', id: 'al-1', at: T0 }));
    await t.store.alerts.insertIfNew(alertInput({ orgId: 'org-b', id: 'al-1', at: T0 }));
    const a = await open(url('owner@org-a.test'));
    const b = await open(url('owner@org-b.test'));
    const r = await t.as('viewer@org-a.test', {
      method: 'PATCH',
      url: '/api/alerts/al-1',
      payload: { status: 'acknowledged' },
    });
    assert.equal(r.statusCode, 200, r.body);
    t.deps.hub.publish('org-b', 'alert', { id: 'marker' });
    const frame = await a.next();
    assert.equal(frame.type, 'alert-updated');
    assert.deepEqual(frame.data, r.json());
    assert.deepEqual(await b.next(), { type: 'alert', data: { id: 'marker' } });
    await Promise.all([a.close(), b.close()]);
  });

  test('a socket is closed once its session ends (log-out or expiry)', async () => {
    t.deps.liveSessionCheckMs = 50;
    try {
      const email = 'viewer@org-a.test';
      const c = await open(url(email));
      const closed = new Promise<number>((res) => c.socket.once('close', (code: number) => res(code)));
      const session = await t.store.sessions.findValidByHash(hashToken(t.token(email)), t.clock.now());
      assert.ok(session);
      await t.store.sessions.delete(session.orgId, session.id);
      assert.equal(await closed, 4001);
      await waitFor(() => t.deps.hub.size === 0, 'the hub to drop the client');
    } finally {
      delete t.deps.liveSessionCheckMs;
    }
  });

  test('the live-clients gauge follows connections', async () => {
    await waitFor(() => t.deps.hub.size === 0, 'earlier clients to leave');
    const gauge = async () => (await t.deps.metrics.liveClients.get()).values[0]?.value;
    const c1 = await open(url('owner@org-a.test'));
    const c2 = await open(url('owner@org-b.test'));
    assert.equal(await gauge(), 2);
    await c1.close();
    await waitFor(() => t.deps.hub.size === 1, 'the hub to drop the client');
    assert.equal(await gauge(), 1);
    await c2.close();
    await waitFor(() => t.deps.hub.size === 0, 'the hub to drop the client');
    assert.equal(await gauge(), 0);
  });

  test('what a client sends is ignored; an oversized frame closes only that client', async () => {
    const c = await open(url('owner@org-a.test'));
    c.socket.send('hello');
    c.socket.send(JSON.stringify({ type: 'alert', data: { id: 'forged' } }));
    const other = await open(url('admin@org-a.test'));
    const closed = new Promise<number>((res) => c.socket.once('close', (code) => res(code)));
    c.socket.send('x'.repeat(10_000));
    assert.equal(await closed, 1009);
    t.deps.hub.publish('org-a', 'alert', { id: 'still-works' });
    assert.deepEqual(await other.next(), { type: 'alert', data: { id: 'still-works' } });
    await other.close();
  });
});
