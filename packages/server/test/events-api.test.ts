import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeCursor } from '@iceberg/store';
import { parseInstant } from '../src/http/query-schemas.ts';
import { resolveSnapshotPath, SnapshotFiles } from '../src/snapshot-files.ts';
import {
  createEventsApp,
  type EventsTestApp,
  jpegBytes,
  snapshotRef,
  T0,
  trackEvent,
} from './events-helpers.ts';

interface EventItem {
  trackId: string;
  cameraId: string;
  deviceId: string;
  class: string;
  score: number;
  firstSeenAt: number;
  lastSeenAt: number;
  endedAt: number | null;
  durationMs: number;
  stationary: boolean;
  box: number[];
  hits: number | null;
  snapshotUrl: string | null;
}
interface EventPage {
  items: EventItem[];
  nextCursor: string | null;
}

const MIN = 60_000;
const A = 'owner@org-a.test';
const B = 'owner@org-b.test';

describe('events API: tracked objects of the caller’s organisation', () => {
  let t: EventsTestApp;
  /** Every org-a track, by `${cameraId}/${trackId}`. */
  const seededA = new Map<
    string,
    { cameraId: string; class: string; firstSeenAt: number; lastSeenAt: number; ended: boolean }
  >();
  const picture = jpegBytes('front-door/t-0');

  /** Every page of `query` for `email`, following `nextCursor`. */
  async function all(email: string, query: string, limit = 3): Promise<EventItem[]> {
    const items: EventItem[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 100; i++) {
      const q = `${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await t.as(email, { method: 'GET', url: `/api/events?${q}` });
      assert.equal(r.statusCode, 200, r.body);
      const page = r.json() as EventPage;
      assert.ok(page.items.length <= limit);
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) return items;
    }
    throw new Error('pagination did not end');
  }
  const keys = (items: EventItem[]) => items.map((e) => `${e.cameraId}/${e.trackId}`);

  before(async () => {
    t = await createEventsApp();
    // org-a: 10 tracks on two cameras, people and cars, every third one still active.
    for (let i = 0; i < 10; i++) {
      const cameraId = i % 2 === 0 ? 'front-door' : 'yard';
      const cls = i % 3 === 0 ? 'car' : 'person';
      const firstSeenAt = T0 + i * MIN;
      const lastSeenAt = firstSeenAt + 30_000;
      const ended = i % 3 !== 1;
      await t.store.tracks.applyEvent(
        trackEvent({
          orgId: 'org-a',
          cameraId,
          trackId: `t-${i}`,
          firstSeenAt,
          lastSeenAt,
          ended,
          class: cls,
          snapshot: i === 0 ? snapshotRef('snapshots/org-a/front-door/20251124/t-0.jpg') : null,
        }),
      );
      seededA.set(`${cameraId}/t-${i}`, { cameraId, class: cls, firstSeenAt, lastSeenAt, ended });
    }
    t.writeDataFile('snapshots/org-a/front-door/20251124/t-0.jpg', picture);
    // org-b: the same camera and track ids (different data), and one of its own.
    await t.store.tracks.applyEvent(
      trackEvent({
        orgId: 'org-b',
        cameraId: 'front-door',
        trackId: 't-0',
        firstSeenAt: T0 + 30 * MIN,
        class: 'dog',
        snapshot: snapshotRef('snapshots/org-b/front-door/20251124/t-0-b.jpg'),
      }),
    );
    t.writeDataFile('snapshots/org-b/front-door/20251124/t-0-b.jpg', jpegBytes('org-b'));
    await t.store.tracks.applyEvent(
      trackEvent({ orgId: 'org-b', cameraId: 'b-only', trackId: 'secret', firstSeenAt: T0 + 3 * MIN }),
    );
  });
  after(() => t.close());

  test('a list returns every event of the organisation exactly once, newest first, none of another', async () => {
    for (const limit of [1, 3, 10, 500]) {
      const items = await all(A, '', limit);
      assert.deepEqual(keys(items).sort(), [...seededA.keys()].sort(), `limit ${limit}`);
      assert.equal(new Set(keys(items)).size, items.length);
      assert.ok(items.every((e) => e.deviceId === 'edge-org-a'));
      const firsts = items.map((e) => e.firstSeenAt);
      assert.deepEqual(
        firsts,
        [...firsts].sort((x, y) => y - x),
      );
    }
    const b = await all(B, '');
    assert.deepEqual(keys(b).sort(), ['b-only/secret', 'front-door/t-0']);
    assert.equal(b.find((e) => e.trackId === 't-0')?.class, 'dog');
  });

  test('an item has the documented shape', async () => {
    const r = await t.as(A, { method: 'GET', url: '/api/cameras/front-door/events/t-0' });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), {
      trackId: 't-0',
      cameraId: 'front-door',
      deviceId: 'edge-org-a',
      class: 'car',
      score: 0.8,
      firstSeenAt: T0,
      lastSeenAt: T0 + 30_000,
      endedAt: T0 + 32_000,
      durationMs: 30_000,
      stationary: false,
      box: [0.1, 0.2, 0.3, 0.4],
      hits: 7,
      snapshotUrl: '/api/cameras/front-door/events/t-0/snapshot',
    });
    const active = await t.as(A, { method: 'GET', url: '/api/cameras/yard/events/t-1' });
    assert.equal((active.json() as EventItem).endedAt, null);
    assert.equal((active.json() as EventItem).snapshotUrl, null);
  });

  const filters: Array<
    [
      string,
      string,
      (e: {
        cameraId: string;
        class: string;
        firstSeenAt: number;
        lastSeenAt: number;
        ended: boolean;
      }) => boolean,
    ]
  > = [
    ['cameraId', 'cameraId=yard', (e) => e.cameraId === 'yard'],
    ['class', 'class=car', (e) => e.class === 'car'],
    ['active=true', 'active=true', (e) => !e.ended],
    ['active=false', 'active=false', (e) => e.ended],
    ['from (epoch ms)', `from=${T0 + 5 * MIN}`, (e) => e.lastSeenAt >= T0 + 5 * MIN],
    ['to (epoch ms)', `to=${T0 + 4 * MIN}`, (e) => e.firstSeenAt <= T0 + 4 * MIN],
    [
      'from and to (ISO 8601)',
      `from=${encodeURIComponent(new Date(T0 + 2 * MIN).toISOString())}&to=${encodeURIComponent('2025-11-24T17:06:00+01:00')}`,
      (e) => e.lastSeenAt >= T0 + 2 * MIN && e.firstSeenAt <= Date.parse('2025-11-24T16:06:00Z'),
    ],
    [
      'several together',
      'cameraId=front-door&class=person&active=false',
      (e) => e.cameraId === 'front-door' && e.class === 'person' && e.ended,
    ],
  ];
  for (const [name, query, keep] of filters) {
    test(`filter ${name}: exactly the matching events, across pages`, async () => {
      const expected = [...seededA.entries()].filter(([, e]) => keep(e)).map(([k]) => k);
      assert.ok(
        expected.length > 0 && expected.length < seededA.size,
        'the filter must select some but not all',
      );
      const items = await all(A, query, 2);
      assert.deepEqual(keys(items).sort(), expected.sort());
    });
  }

  const foreignCursor = encodeCursor('alerts', [1, 'a']);
  const badQueries: Array<[string, string]> = [
    ['from=yesterday', 'from'],
    ['to=2026-02-31', 'to'],
    ['from=2026-01-01T10:00:00', 'from'],
    [`from=${'9'.repeat(20)}`, 'from'],
    ['from=-5', 'from'],
    ['active=yes', 'active'],
    ['class=dragon', 'class'],
    ['cameraId=..%2Fetc', 'cameraId'],
    ['cameraId=a%00b', 'cameraId'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['cursor=%%%', 'cursor'],
    ['camera=yard', 'camera'],
    [`cursor=${encodeCursor('tracks', [1.5, 'a', 'b'])}`, 'cursor'],
    [`cursor=${encodeCursor('tracks', [1e300, 'a', 'b'])}`, 'cursor'],
    [`cursor=${encodeCursor('tracks', [1, 'a\u0000', 'b'])}`, 'cursor'],
    [`cursor=${foreignCursor}`, 'cursor'],
    [`cursor=${Buffer.from('not json').toString('base64url')}`, 'cursor'],
    [`from=${T0 + 10 * MIN}&to=${T0}`, 'from'],
  ];
  for (const [query, param] of badQueries) {
    test(`a bad query (${query.slice(0, 40)}) is a 400 naming ${param}`, async () => {
      const r = await t.as(A, { method: 'GET', url: `/api/events?${query}` });
      assert.equal(r.statusCode, 400, r.body);
      const body = r.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'ICEBERG_ERR_INPUT_INVALID');
      assert.match(body.error.message, new RegExp(param));
      // The store refuses a well-formed cursor of another list; everything else is the schema's.
      if (query !== `cursor=${foreignCursor}`) assert.match(body.error.message, /^querystring/);
    });
  }

  test('another organisation’s event is not found, even with the same camera and track ids', async () => {
    const secret = await t.as(A, { method: 'GET', url: '/api/cameras/b-only/events/secret' });
    assert.equal(secret.statusCode, 404);
    assert.match(
      (secret.json() as { error: { message: string } }).error.message,
      /no event secret on camera b-only/,
    );
    const same = await t.as(B, { method: 'GET', url: '/api/cameras/front-door/events/t-0' });
    assert.equal((same.json() as EventItem).class, 'dog');
    const mine = await t.as(A, { method: 'GET', url: '/api/cameras/front-door/events/t-0' });
    assert.equal((mine.json() as EventItem).class, 'car');
    const otherSnap = await t.as(A, { method: 'GET', url: '/api/cameras/b-only/events/secret/snapshot' });
    assert.equal(otherSnap.statusCode, 404);
  });

  test('every role may read events; without a valid token it is 401', async () => {
    for (const role of ['owner', 'admin', 'viewer']) {
      const r = await t.as(`${role}@org-a.test`, { method: 'GET', url: '/api/events?limit=1' });
      assert.equal(r.statusCode, 200);
    }
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }]) {
      for (const url of [
        '/api/events',
        '/api/cameras/front-door/events/t-0',
        '/api/cameras/front-door/events/t-0/snapshot',
      ]) {
        const r = await t.app.inject({ method: 'GET', url, headers });
        assert.equal(r.statusCode, 401, `${url} ${JSON.stringify(headers)}`);
      }
    }
    // The token is read from the query string only on WebSocket upgrades.
    const q = await t.app.inject({ method: 'GET', url: `/api/events?token=${t.token(A)}` });
    assert.ok(q.statusCode === 400 || q.statusCode === 401, q.body);
    assert.doesNotMatch(q.body, /items/);
  });

  test('the snapshot is served with its bytes, as a private JPEG', async () => {
    const r = await t.as(A, { method: 'GET', url: '/api/cameras/front-door/events/t-0/snapshot' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.match(String(r.headers['cache-control']), /^private/);
    assert.deepEqual(r.rawPayload, picture);
    const b = await t.as(B, { method: 'GET', url: '/api/cameras/front-door/events/t-0/snapshot' });
    assert.deepEqual(b.rawPayload, jpegBytes('org-b'));
  });

  test('no snapshot, or a missing file, is a 404 that says so', async () => {
    const none = await t.as(A, { method: 'GET', url: '/api/cameras/yard/events/t-1/snapshot' });
    assert.equal(none.statusCode, 404);
    assert.match(none.body, /has no snapshot/);
    await t.store.tracks.applyEvent(
      trackEvent({
        orgId: 'org-a',
        cameraId: 'yard',
        trackId: 'gone',
        firstSeenAt: T0,
        snapshot: snapshotRef('snapshots/org-a/yard/20251124/gone.jpg'),
      }),
    );
    const gone = await t.as(A, { method: 'GET', url: '/api/cameras/yard/events/gone/snapshot' });
    assert.equal(gone.statusCode, 404);
    assert.match(gone.body, /snapshot file .* is missing/);
  });

  test('a snapshot reference that leaves the snapshot folder is never read', async () => {
    // Files a hostile reference might aim at: the database inside the data directory, a file
    // beside it, and one reached through a symbolic link.
    t.writeDataFile('db/secret.jpg', Buffer.from('database'));
    const outside = join(t.deps.dataDir, '..', `outside-${process.pid}.jpg`);
    writeFileSync(outside, 'outside');
    mkdirSync(join(t.deps.dataDir, 'snapshots', 'org-a', 'evil'), { recursive: true });
    symlinkSync(outside, join(t.deps.dataDir, 'snapshots', 'org-a', 'evil', 'link.jpg'));
    symlinkSync(join(t.deps.dataDir, 'db'), join(t.deps.dataDir, 'snapshots', 'org-a', 'dblink'));
    const refs = [
      'snapshots/../db/secret.jpg',
      '../outside.jpg',
      `../outside-${process.pid}.jpg`,
      'db/secret.jpg',
      `${t.deps.dataDir}/db/secret.jpg`,
      '/etc/passwd',
      'snapshots/org-a/evil/link.jpg',
      'snapshots/org-a/dblink/secret.jpg',
      'snapshots/org-b/front-door/20251124/t-0-b.jpg',
      'snapshots\\..\\db\\secret.jpg',
      'snapshots//etc/passwd.jpg',
    ];
    for (const [i, ref] of refs.entries()) {
      await t.store.tracks.applyEvent(
        trackEvent({
          orgId: 'org-a',
          cameraId: 'evil',
          trackId: `x-${i}`,
          firstSeenAt: T0,
          snapshot: snapshotRef(ref),
        }),
      );
      const r = await t.as(A, { method: 'GET', url: `/api/cameras/evil/events/x-${i}/snapshot` });
      assert.equal(r.statusCode, 404, `${ref}: ${r.body}`);
      assert.doesNotMatch(r.body, /database|outside|root:/);
    }
  });

  test('hostile paths are 4xx, never 500', async () => {
    const urls = [
      '/api/cameras/a%00b/events/t-0',
      '/api/cameras/front-door/events/..%2F..%2Fetc',
      `/api/cameras/${'x'.repeat(65)}/events/t-0`,
      '/api/cameras/%ff/events/t-0/snapshot',
      '/api/cameras/front-door/events/%2e%2e/snapshot',
      '/api/events?from[]=1',
      `/api/events?cameraId=${'a'.repeat(5000)}`,
    ];
    for (const url of urls) {
      const r = await t.as(A, { method: 'GET', url });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${url} → ${r.statusCode} ${r.body}`);
    }
  });
});

describe('instants in query strings', () => {
  const cases: Array<[string, number | null]> = [
    ['1764000000000', 1_764_000_000_000],
    ['0', 0],
    ['2025-11-24T16:00:00Z', Date.parse('2025-11-24T16:00:00Z')],
    ['2025-11-24T17:00:00.250+01:00', Date.parse('2025-11-24T16:00:00.250Z')],
    ['2025-11-24', Date.parse('2025-11-24T00:00:00Z')],
    ['2025-11-24T16:00', null],
    ['2025-11-24T16:00:00', null],
    ['2026-02-29', null],
    ['2024-02-29', Date.parse('2024-02-29T00:00:00Z')],
    ['2025-13-01', null],
    ['yesterday', null],
    ['1e12', null],
    ['-1', null],
    ['', null],
    ['99999999999999999', null],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(parseInstant(text), expected));
  }
});

describe('snapshot files: references are confined to <dataDir>/snapshots', () => {
  const dir = '/srv/iceberg/data';
  const cases: Array<[string, string | null]> = [
    ['snapshots/cam-1/20261125/t-42.jpg', `${dir}/snapshots/cam-1/20261125/t-42.jpg`],
    ['snapshots/cam-1/x.JPEG', `${dir}/snapshots/cam-1/x.JPEG`],
    ['snapshots/cam-1/../../db/x.jpg', null],
    ['snapshots/./cam-1/x.jpg', null],
    ['snapshots/x.png', null],
    ['db/x.jpg', null],
    ['/snapshots/cam/x.jpg', null],
    ['snapshots/cam\\x.jpg', null],
    ['snapshots/cam/x\n.jpg', null],
    ['', null],
  ];
  for (const [ref, expected] of cases) {
    test(`${JSON.stringify(ref)} → ${expected}`, () => assert.equal(resolveSnapshotPath(dir, ref), expected));
  }

  test('a file larger than the limit is not served', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'iceberg-snap-'));
    mkdirSync(join(root, 'snapshots', 'org', 'c'), { recursive: true });
    writeFileSync(join(root, 'snapshots', 'org', 'c', 'big.jpg'), Buffer.alloc(2048));
    writeFileSync(join(root, 'snapshots', 'org', 'c', 'ok.jpg'), Buffer.alloc(10));
    const files = new SnapshotFiles(root, 1024);
    assert.equal(await files.read('snapshots/org/c/big.jpg', 'org'), null);
    assert.equal((await files.read('snapshots/org/c/ok.jpg', 'org'))?.bytes.length, 10);
  });

  test("a reference into another organisation's folder is not served", async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'iceberg-snap-'));
    mkdirSync(join(root, 'snapshots', 'acme', 'c'), { recursive: true });
    writeFileSync(join(root, 'snapshots', 'acme', 'c', 't.jpg'), Buffer.alloc(10));
    const files = new SnapshotFiles(root);
    assert.equal((await files.read('snapshots/acme/c/t.jpg', 'acme'))?.bytes.length, 10);
    assert.equal(await files.read('snapshots/acme/c/t.jpg', 'globex'), null);
    assert.equal(await files.read('snapshots/acme/c/t.jpg', '..'), null);
    assert.equal(resolveSnapshotPath(root, 'snapshots/acme/c/t.jpg', 'globex'), null);
  });
});
