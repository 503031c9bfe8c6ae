import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { AlertStatus } from '@iceberg/contracts';
import type { LiveMessageType } from '../src/live/ws-hub.ts';
import { alertTransition } from '../src/services/alert-review.service.ts';
import {
  alertInput,
  createEventsApp,
  deadLetter,
  type EventsTestApp,
  jpegBytes,
  T0,
} from './events-helpers.ts';

interface AlertItem {
  id: string;
  orgId: string;
  ruleId: string;
  cameraId: string;
  status: AlertStatus;
  statusAt: number;
  statusBy: string | null;
  at: number;
  snapshotUrl: string | null;
  [key: string]: unknown;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const MIN = 60_000;
const A = 'owner@org-a.test';
const B = 'owner@org-b.test';

describe('alerts API: list, look, acknowledge, resolve', () => {
  let t: EventsTestApp;
  const seededA = new Map<string, { cameraId: string; ruleId: string; status: AlertStatus; at: number }>();
  const pushed: Array<{ orgId: string; type: LiveMessageType; data: unknown }> = [];
  const picture = jpegBytes('alert-a-0');

  async function all(email: string, query: string, limit = 3): Promise<AlertItem[]> {
    const items: AlertItem[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 100; i++) {
      const q = `${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await t.as(email, { method: 'GET', url: `/api/alerts?${q}` });
      assert.equal(r.statusCode, 200, r.body);
      const page = r.json() as Page<AlertItem>;
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) return items;
    }
    throw new Error('pagination did not end');
  }
  const ids = (items: AlertItem[]) => items.map((a) => a.id);

  before(async () => {
    t = await createEventsApp();
    const publish = t.deps.hub.publish.bind(t.deps.hub);
    t.deps.hub.publish = (orgId, type, data) => {
      pushed.push({ orgId, type, data });
      publish(orgId, type, data);
    };
    const statuses: AlertStatus[] = ['new', 'acknowledged', 'resolved'];
    for (let i = 0; i < 12; i++) {
      const seed = {
        cameraId: i % 2 === 0 ? 'front-door' : 'yard',
        ruleId: i % 3 === 0 ? 'rule-x' : 'rule-y',
        status: statuses[i % 3] as AlertStatus,
        // Two alerts at the same instant: the order must still be total.
        at: T0 + Math.floor(i / 2) * MIN,
      };
      await t.store.alerts.insertIfNew(
        alertInput({
          orgId: 'org-a',
          id: `al-${i}`,
          ...seed,
          snapshot: i === 0 ? 'snapshots/org-a/front-door/20251124/t-1.jpg' : null,
        }),
      );
      seededA.set(`al-${i}`, seed);
    }
    t.writeDataFile('snapshots/org-a/front-door/20251124/t-1.jpg', picture);
    // org-b: an alert with the same id as one of org-a's, and one of its own.
    await t.store.alerts.insertIfNew(alertInput({ orgId: 'org-b', id: 'al-0', at: T0, cameraId: 'b-cam' }));
    await t.store.alerts.insertIfNew(
      alertInput({ orgId: 'org-b', id: 'b-secret', at: T0, cameraId: 'b-cam' }),
    );
  });
  after(() => t.close());
  beforeEach(() => {
    pushed.length = 0;
  });

  test('a list returns every alert of the organisation exactly once, newest first, none of another', async () => {
    for (const limit of [1, 2, 5, 500]) {
      const items = await all(A, '', limit);
      assert.deepEqual(ids(items).sort(), [...seededA.keys()].sort(), `limit ${limit}`);
      assert.ok(items.every((a) => a.orgId === 'org-a'));
      const ats = items.map((a) => a.at);
      assert.deepEqual(
        ats,
        [...ats].sort((x, y) => y - x),
      );
    }
    const b = await all(B, '');
    assert.deepEqual(ids(b).sort(), ['al-0', 'b-secret']);
    assert.ok(b.every((a) => a.cameraId === 'b-cam'));
  });

  test('an item is alert.v1 without schema and snapshot ref, with status history and a picture URL', async () => {
    const r = await t.as(A, { method: 'GET', url: '/api/alerts/al-0' });
    assert.equal(r.statusCode, 200, r.body);
    const a = r.json() as AlertItem;
    assert.equal(a.snapshotUrl, '/api/alerts/al-0/snapshot');
    assert.equal(a.statusBy, null);
    assert.equal(a.statusAt, T0 + 100);
    assert.equal('schema' in a, false);
    assert.equal('snapshot' in a, false);
    for (const key of [
      'ruleName',
      'deviceId',
      'reason',
      'class',
      'trackIds',
      'score',
      'box',
      'createdAt',
      'message',
      'dedupeKey',
    ])
      assert.ok(key in a, key);
    assert.equal(
      ((await t.as(A, { method: 'GET', url: '/api/alerts/al-1' })).json() as AlertItem).snapshotUrl,
      null,
    );
  });

  const filters: Array<
    [string, string, (a: { cameraId: string; ruleId: string; status: AlertStatus; at: number }) => boolean]
  > = [
    ['status', 'status=new', (a) => a.status === 'new'],
    ['cameraId', 'cameraId=yard', (a) => a.cameraId === 'yard'],
    ['ruleId', 'ruleId=rule-x', (a) => a.ruleId === 'rule-x'],
    ['from', `from=${T0 + 2 * MIN}`, (a) => a.at >= T0 + 2 * MIN],
    [
      'to (ISO)',
      `to=${encodeURIComponent(new Date(T0 + 3 * MIN).toISOString())}`,
      (a) => a.at <= T0 + 3 * MIN,
    ],
    [
      'several',
      `status=resolved&cameraId=front-door&from=${T0 + MIN}`,
      (a) => a.status === 'resolved' && a.cameraId === 'front-door' && a.at >= T0 + MIN,
    ],
  ];
  for (const [name, query, keep] of filters) {
    test(`filter ${name}: exactly the matching alerts, across pages`, async () => {
      const expected = [...seededA.entries()].filter(([, a]) => keep(a)).map(([id]) => id);
      assert.ok(expected.length > 0 && expected.length < seededA.size);
      assert.deepEqual(ids(await all(A, query, 2)).sort(), expected.sort());
    });
  }

  for (const [query, param] of [
    ['status=open', 'status'],
    ['cameraId=a/b', 'cameraId'],
    ['ruleId=a%00b', 'ruleId'],
    ['from=soon', 'from'],
    [`to=${T0}&from=${T0 + 1}`, 'from'],
    ['limit=1000', 'limit'],
    ['cursor=bm9wZQ', 'cursor'],
    ['sort=asc', 'sort'],
  ] as const) {
    test(`a bad query (${query}) is a 400 naming ${param}`, async () => {
      const r = await t.as(A, { method: 'GET', url: `/api/alerts?${query}` });
      assert.equal(r.statusCode, 400, r.body);
      assert.match((r.json() as { error: { message: string } }).error.message, new RegExp(param));
    });
  }

  test('another organisation’s alert is not found, read or written, even with the same id', async () => {
    assert.equal((await t.as(A, { method: 'GET', url: '/api/alerts/b-secret' })).statusCode, 404);
    assert.equal((await t.as(A, { method: 'GET', url: '/api/alerts/b-secret/snapshot' })).statusCode, 404);
    const patch = await t.as(A, {
      method: 'PATCH',
      url: '/api/alerts/b-secret',
      payload: { status: 'resolved' },
    });
    assert.equal(patch.statusCode, 404);
    assert.equal((await t.store.alerts.get('org-b', 'b-secret'))?.status, 'new');
    const same = await t.as(B, { method: 'GET', url: '/api/alerts/al-0' });
    assert.equal((same.json() as AlertItem).cameraId, 'b-cam');
    assert.equal(pushed.length, 0);
  });

  test('a viewer acknowledges, then resolves; each change is stamped and pushed as alert-updated', async () => {
    const viewer = 'viewer@org-a.test';
    t.clock.advance(1_000);
    const ack = await t.as(viewer, {
      method: 'PATCH',
      url: '/api/alerts/al-3',
      payload: { status: 'acknowledged' },
    });
    assert.equal(ack.statusCode, 200, ack.body);
    const acked = ack.json() as AlertItem;
    assert.equal(acked.status, 'acknowledged');
    assert.equal(acked.statusBy, t.userId(viewer));
    assert.equal(acked.statusAt, t.clock.now());
    assert.deepEqual(pushed, [{ orgId: 'org-a', type: 'alert-updated', data: acked }]);
    const resolved = await t.as(viewer, {
      method: 'PATCH',
      url: '/api/alerts/al-3',
      payload: { status: 'resolved' },
    });
    assert.equal(resolved.statusCode, 200);
    assert.equal((resolved.json() as AlertItem).status, 'resolved');
    assert.equal(pushed.length, 2);
    assert.equal(pushed[1]?.orgId, 'org-a');
    // The same id in org-b is untouched.
    assert.equal((await t.store.alerts.get('org-b', 'al-0'))?.status, 'new');
  });

  test('new → resolved directly; asking for the current status changes nothing and pushes nothing', async () => {
    const r = await t.as('admin@org-a.test', {
      method: 'PATCH',
      url: '/api/alerts/al-6',
      payload: { status: 'resolved' },
    });
    assert.equal(r.statusCode, 200);
    const before = r.json() as AlertItem;
    pushed.length = 0;
    t.clock.advance(5_000);
    const again = await t.as(A, {
      method: 'PATCH',
      url: '/api/alerts/al-6',
      payload: { status: 'resolved' },
    });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), before);
    assert.equal(pushed.length, 0);
  });

  for (const [from, to] of [
    ['resolved', 'new'],
    ['resolved', 'acknowledged'],
    ['acknowledged', 'new'],
  ] as const) {
    test(`${from} → ${to} is a 409 conflict and changes nothing`, async () => {
      const id = `conflict-${from}-${to}`;
      await t.store.alerts.insertIfNew(alertInput({ orgId: 'org-a', id, at: T0 - MIN, status: from }));
      const r = await t.as(A, { method: 'PATCH', url: `/api/alerts/${id}`, payload: { status: to } });
      assert.equal(r.statusCode, 409, r.body);
      const body = r.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'ICEBERG_ERR_CONFLICT');
      assert.match(body.error.message, new RegExp(`is ${from}: it cannot go back to ${to}`));
      assert.equal((await t.store.alerts.get('org-a', id))?.status, from);
      assert.equal(pushed.length, 0);
    });
  }

  for (const [name, payload] of [
    ['an unknown status', { status: 'closed' }],
    ['no status', {}],
    ['an extra field', { status: 'resolved', statusBy: 'someone-else' }],
    ['a wrong type', { status: 1 }],
    ['not an object', [1, 2]],
  ] as const) {
    test(`PATCH with ${name} is a 400`, async () => {
      const r = await t.as(A, { method: 'PATCH', url: '/api/alerts/al-9', payload: payload as object });
      assert.equal(r.statusCode, 400, r.body);
      assert.equal((await t.store.alerts.get('org-a', 'al-9'))?.status, 'new');
    });
  }

  test('without a valid token nothing is read or changed', async () => {
    for (const [method, url] of [
      ['GET', '/api/alerts'],
      ['GET', '/api/alerts/al-0'],
      ['GET', '/api/alerts/al-0/snapshot'],
      ['PATCH', '/api/alerts/al-0'],
    ] as const) {
      const r = await t.app.inject({
        method,
        url,
        payload: method === 'PATCH' ? { status: 'resolved' } : undefined,
      });
      assert.equal(r.statusCode, 401, `${method} ${url}`);
    }
    assert.equal((await t.store.alerts.get('org-a', 'al-0'))?.status, 'new');
  });

  test('the snapshot of an alert is served with its bytes; none, or a hostile reference, is a 404', async () => {
    const r = await t.as(A, { method: 'GET', url: '/api/alerts/al-0/snapshot' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.match(String(r.headers['cache-control']), /^private/);
    assert.deepEqual(r.rawPayload, picture);
    const none = await t.as(A, { method: 'GET', url: '/api/alerts/al-1/snapshot' });
    assert.equal(none.statusCode, 404);
    assert.match(none.body, /has no snapshot/);
    t.writeDataFile('db/PG_VERSION.jpg', Buffer.from('17'));
    for (const [i, ref] of [
      '../db/PG_VERSION.jpg',
      'snapshots/../db/PG_VERSION.jpg',
      'db/PG_VERSION.jpg',
      '/etc/hostname',
    ].entries()) {
      await t.store.alerts.insertIfNew(
        alertInput({ orgId: 'org-a', id: `evil-${i}`, at: T0 - 2 * MIN, snapshot: ref }),
      );
      const e = await t.as(A, { method: 'GET', url: `/api/alerts/evil-${i}/snapshot` });
      assert.equal(e.statusCode, 404, ref);
    }
  });

  test('hostile ids and bodies are 4xx, never 500', async () => {
    for (const url of [
      '/api/alerts/a%00b',
      `/api/alerts/${'x'.repeat(300)}`,
      '/api/alerts/%ff',
      '/api/alerts/..%2F..%2Fetc%2Fpasswd/snapshot',
    ]) {
      const r = await t.as(A, { method: 'GET', url });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${url} → ${r.statusCode}`);
    }
    const bad = await t.as(A, {
      method: 'PATCH',
      url: '/api/alerts/al-9',
      headers: { 'content-type': 'application/json' },
      payload: '{"status":',
    });
    assert.equal(bad.statusCode, 400);
  });
});

describe('alert status transitions only move forward', () => {
  const cases: Array<[AlertStatus, AlertStatus, ReturnType<typeof alertTransition>]> = [
    ['new', 'new', 'unchanged'],
    ['new', 'acknowledged', 'apply'],
    ['new', 'resolved', 'apply'],
    ['acknowledged', 'new', 'refused'],
    ['acknowledged', 'acknowledged', 'unchanged'],
    ['acknowledged', 'resolved', 'apply'],
    ['resolved', 'new', 'refused'],
    ['resolved', 'acknowledged', 'refused'],
    ['resolved', 'resolved', 'unchanged'],
  ];
  for (const [from, to, expected] of cases) {
    test(`${from} → ${to}: ${expected}`, () => assert.equal(alertTransition(from, to), expected));
  }
});

describe('dead letters API: owners and admins see their organisation’s letters only', () => {
  let t: EventsTestApp;
  const mine: string[] = [];

  before(async () => {
    t = await createEventsApp();
    for (let i = 0; i < 7; i++) {
      const letter = await t.store.deadLetters.insert(
        deadLetter(i % 2 ? 'detections' : 'tracks', T0 + i * MIN),
        'org-a',
      );
      mine.push(letter.id);
    }
    await t.store.deadLetters.markReplayed({ orgId: 'org-a' }, mine[0] ?? '', T0 + 100 * MIN);
    await t.store.deadLetters.insert(deadLetter('tracks', T0, '{"orgId":"org-b"'), 'org-b', 'b-letter');
    // A letter that could not be tied to an organisation: only for the operator of the service.
    await t.store.deadLetters.insert(deadLetter('tracks', T0, 'garbage'), null, 'orphan');
    await t.store.deadLetters.insert(deadLetter('tracks', T0 - MIN, 'x'.repeat(10_000)), 'org-a', 'big');
    mine.push('big');
  });
  after(() => t.close());

  test('every letter of the organisation once, across pages; none of another, none without one', async () => {
    for (const email of [A, 'admin@org-a.test']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/api/dead-letters?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const r = await t.as(email, { method: 'GET', url });
        assert.equal(r.statusCode, 200, r.body);
        const page = r.json() as Page<{ id: string }>;
        seen.push(...page.items.map((d) => d.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual([...seen].sort(), [...mine].sort());
    }
    const b = await t.as(B, { method: 'GET', url: '/api/dead-letters' });
    assert.deepEqual(
      (b.json() as Page<{ id: string }>).items.map((d) => d.id),
      ['b-letter'],
    );
  });

  test('counts, with filters', async () => {
    const count = async (q: string) =>
      ((await t.as(A, { method: 'GET', url: `/api/dead-letters/count${q}` })).json() as { count: number })
        .count;
    assert.equal(await count(''), 8);
    assert.equal(await count('?topic=detections'), 3);
    assert.equal(await count('?replayed=true'), 1);
    assert.equal(await count('?replayed=false&topic=tracks'), 4);
    const b = await t.as(B, { method: 'GET', url: '/api/dead-letters/count' });
    assert.deepEqual(b.json(), { count: 1 });
  });

  test('viewers are refused (403); without a token it is 401', async () => {
    for (const url of ['/api/dead-letters', '/api/dead-letters/count', `/api/dead-letters/${mine[1]}`]) {
      const v = await t.as('viewer@org-a.test', { method: 'GET', url });
      assert.equal(v.statusCode, 403, url);
      assert.equal((v.json() as { error: { code: string } }).error.code, 'ICEBERG_ERR_FORBIDDEN');
      assert.equal((await t.app.inject({ method: 'GET', url })).statusCode, 401);
    }
  });

  test('a list cuts long values; the letter itself has all of it', async () => {
    const list = await t.as(A, { method: 'GET', url: '/api/dead-letters?topic=tracks&replayed=false' });
    const big = (list.json() as Page<{ id: string; value: string; valueTruncated: boolean }>).items.find(
      (d) => d.id === 'big',
    );
    assert.equal(big?.value.length, 4096);
    assert.equal(big?.valueTruncated, true);
    const one = await t.as(A, { method: 'GET', url: '/api/dead-letters/big' });
    assert.equal(one.statusCode, 200);
    const full = one.json() as {
      value: string;
      valueTruncated: boolean;
      headers: Record<string, string>;
      reason: string;
    };
    assert.equal(full.value.length, 10_000);
    assert.equal(full.valueTruncated, false);
    assert.deepEqual(full.headers, { 'content-type': 'application/json' });
    assert.equal(full.reason, 'invalid');
  });

  test('another organisation’s letter, or one without an organisation, is not found', async () => {
    for (const id of ['b-letter', 'orphan', 'nope']) {
      const r = await t.as(A, { method: 'GET', url: `/api/dead-letters/${id}` });
      assert.equal(r.statusCode, 404, id);
    }
  });

  test('bad queries are 400', async () => {
    for (const q of ['replayed=maybe', 'limit=0', 'cursor=%00', 'topic=a%00b', 'org=all']) {
      const r = await t.as(A, { method: 'GET', url: `/api/dead-letters?${q}` });
      assert.equal(r.statusCode, 400, `${q}: ${r.body}`);
    }
  });
});
