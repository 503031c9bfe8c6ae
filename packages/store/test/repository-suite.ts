/**
 * The repository test suite. The same suite runs on every database Iceberg supports (PGlite in
 * memory, PGlite in a directory, PostgreSQL): each test file calls `defineRepositorySuite()`
 * with a way to open its database. Tests share one database and keep apart by using organisations
 * of their own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import type { AlertV1, CameraStatusV1, DeviceStatusV1, TrackEventV1 } from '@iceberg/contracts';
import { examples } from '@iceberg/contracts';
import {
  type AlertInput,
  createStore,
  type Database,
  type DetectionInput,
  hashToken,
  latestSchemaVersion,
  migrate,
  type Page,
  type PageRequest,
  type Store,
} from '../src/index.ts';

let counter = 0;
/** A unique id for this run (tests share the database). */
export const uid = (prefix: string) => `${prefix}-${++counter}-${randomBytes(3).toString('hex')}`;

const isCode = (code: string) => (err: unknown) => err instanceof IcebergError && err.code === code;

/** Every item of a paginated list, fetching `limit` at a time. */
export async function collectAll<T>(
  fetch: (page: PageRequest) => Promise<Page<T>>,
  limit: number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Page<T> = await fetch({ limit, cursor });
    assert.ok(page.items.length <= limit, 'a page never holds more than the limit');
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
    assert.ok(pages < 10_000, 'pagination terminates');
  } while (cursor !== null);
  return { items, pages };
}

function trackEvents(orgId: string, cameraId: string, trackId: string, start = 1_000_000): TrackEventV1[] {
  const base = {
    schema: 'track.v1' as const,
    orgId,
    deviceId: 'edge-1',
    cameraId,
    trackId,
    class: 'person' as const,
    firstSeenAt: start,
    stationary: false,
  };
  // The best picture so far: from the moment it is taken, every later event carries it.
  const snapshot = {
    ref: `snapshots/${cameraId}/${trackId}.jpg`,
    capturedAt: start + 4_900,
    score: 0.8,
    box: [0.2, 0.1, 0.2, 0.4] as [number, number, number, number],
    width: 768,
    height: 576,
  };
  return [
    {
      ...base,
      type: 'TrackStarted',
      eventId: `${trackId}:TrackStarted:0`,
      at: start + 500,
      score: 0.6,
      box: [0.1, 0.1, 0.2, 0.4],
      lastSeenAt: start + 500,
      snapshot: null,
    },
    {
      ...base,
      type: 'TrackUpdated',
      eventId: `${trackId}:TrackUpdated:0`,
      at: start + 5_000,
      score: 0.8,
      box: [0.2, 0.1, 0.2, 0.4],
      lastSeenAt: start + 5_000,
      snapshot,
    },
    {
      ...base,
      type: 'TrackUpdated',
      eventId: `${trackId}:TrackUpdated:1`,
      at: start + 10_000,
      score: 0.8,
      box: [0.3, 0.1, 0.2, 0.4],
      lastSeenAt: start + 10_000,
      stationary: true,
      snapshot,
    },
    {
      ...base,
      type: 'TrackEnded',
      eventId: `${trackId}:TrackEnded:0`,
      at: start + 14_000,
      score: 0.8,
      box: [0.3, 0.1, 0.2, 0.4],
      lastSeenAt: start + 10_000,
      stationary: true,
      snapshot,
      hits: 21,
    },
  ];
}

function alert(orgId: string, n: number, over: Partial<AlertV1> = {}): AlertInput {
  return {
    id: uid('alert'),
    orgId,
    ruleId: 'rule-1',
    ruleName: 'Loading bay',
    deviceId: 'edge-1',
    cameraId: 'front-door',
    reason: 'enter',
    class: 'person',
    trackIds: [`t-${n}`],
    score: 0.8,
    box: [0.1, 0.2, 0.3, 0.4],
    at: 2_000_000 + n,
    createdAt: 2_000_100 + n,
    status: 'new',
    snapshot: null,
    message: `person entered Loading bay on front-door (${n})`,
    dedupeKey: `rule-1:t-${n}:enter`,
    ...over,
  };
}

function detection(orgId: string, cameraId: string, i: number): DetectionInput {
  return {
    orgId,
    deviceId: 'edge-1',
    cameraId,
    seq: i,
    capturedAt: 3_000_000 + i * 500,
    objects: [{ trackId: `t-${i % 7}`, class: 'person', score: 0.7, box: [0.1, 0.1, 0.1, 0.2] }],
  };
}

function heartbeat(orgId: string, deviceId: string, at: number): DeviceStatusV1 {
  return { ...examples.deviceStatus, orgId, deviceId, at };
}

function cameraStatus(
  orgId: string,
  cameraId: string,
  at: number,
  state: CameraStatusV1['state'],
): CameraStatusV1 {
  return {
    ...examples.cameraStatus,
    orgId,
    cameraId,
    at,
    state,
    problem: state === 'offline' ? { code: 'unreachable', message: 'Connection refused' } : null,
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function defineRepositorySuite(name: string, open: () => Promise<Database>): void {
  describe(`store repositories on ${name}`, () => {
    let database: Database;
    let store: Store;

    /** Two fresh organisations: the tenant under test and another one. */
    async function twoOrgs(): Promise<[string, string]> {
      const a = await store.organisations.create({ id: uid('org-a'), name: 'A', createdAt: 1 });
      const b = await store.organisations.create({ id: uid('org-b'), name: 'B', createdAt: 1 });
      return [a.id, b.id];
    }

    before(async () => {
      database = await open();
      store = createStore(database.db);
    });
    after(async () => {
      await database?.close();
    });

    test('migrations are recorded and running them again changes nothing', async () => {
      assert.equal(database.schemaVersion, latestSchemaVersion);
      const again = await migrate(database.db);
      assert.deepEqual(again, { applied: [], version: latestSchemaVersion });
      const rows = await database.db.selectFrom('schema_migrations').select(['version', 'name']).execute();
      assert.deepEqual(
        rows.map((r) => r.version),
        Array.from({ length: latestSchemaVersion }, (_, i) => i + 1),
      );
    });

    test('organisations: create, get, duplicate id refused', async () => {
      const id = uid('org');
      const created = await store.organisations.create({ id, name: 'Acme', createdAt: 5 });
      assert.deepEqual(created, { id, name: 'Acme', createdAt: 5 });
      assert.deepEqual(await store.organisations.get(id), created);
      assert.equal(await store.organisations.get(uid('nope')), undefined);
      await assert.rejects(store.organisations.create({ id, name: 'again' }), isCode('ICEBERG_ERR_CONFLICT'));
      const generated = await store.organisations.create({ name: 'Generated' });
      assert.match(generated.id, /^[0-9a-f-]{36}$/);
    });

    test('users: e-mail unique across organisations regardless of case; the hash only for log-in', async () => {
      const [a, b] = await twoOrgs();
      const email = `${uid('Ann')}@Example.com`;
      const ann = await store.users.create({
        orgId: a,
        email,
        name: 'Ann',
        role: 'owner',
        passwordHash: 'h1',
      });
      assert.equal('passwordHash' in ann, false);
      await assert.rejects(
        store.users.create({
          orgId: b,
          email: email.toUpperCase(),
          name: 'Eve',
          role: 'viewer',
          passwordHash: 'h',
        }),
        isCode('ICEBERG_ERR_CONFLICT'),
      );
      const found = await store.users.findByEmail(email.toLowerCase());
      assert.equal(found?.id, ann.id);
      assert.equal(found?.orgId, a);
      assert.equal(found?.passwordHash, 'h1');
      assert.equal(await store.users.findByEmail(`x${email}`), undefined);
      assert.deepEqual(await store.users.get(a, ann.id), ann);
      assert.equal(await store.users.get(b, ann.id), undefined);
      assert.deepEqual((await store.users.list(a)).items, [ann]);
      assert.deepEqual((await store.users.list(b)).items, []);
      await assert.rejects(
        store.users.create({
          orgId: uid('no-org'),
          email: `${uid('x')}@x.io`,
          name: 'X',
          role: 'admin',
          passwordHash: 'h',
        }),
        isCode('ICEBERG_ERR_INPUT_INVALID'),
        'a user of an organisation that does not exist',
      );
    });

    test('sessions: found by token hash until they expire; touch, delete, deleteExpired', async () => {
      const [a, b] = await twoOrgs();
      const user = await store.users.create({
        orgId: a,
        email: `${uid('s')}@x.io`,
        name: 'S',
        role: 'admin',
        passwordHash: 'h',
      });
      const token = randomBytes(32).toString('base64url');
      const s = await store.sessions.create({
        orgId: a,
        userId: user.id,
        tokenHash: hashToken(token),
        createdAt: 1_000,
        expiresAt: 10_000,
      });
      assert.equal(s.kind, 'session');
      assert.deepEqual(await store.sessions.findValidByHash(hashToken(token), 9_999), s);
      assert.equal(await store.sessions.findValidByHash(hashToken(token), 10_000), undefined, 'expired');
      assert.equal(await store.sessions.findValidByHash(hashToken(`${token}x`), 5_000), undefined);

      await assert.rejects(
        store.sessions.create({ orgId: a, userId: user.id, tokenHash: token, expiresAt: 10_000 }),
        isCode('ICEBERG_ERR_INPUT_INVALID'),
        'the raw token is refused: only a sha256 hex digest is stored',
      );

      assert.equal(await store.sessions.touch(a, s.id, 5_000), true);
      assert.equal(await store.sessions.touch(a, s.id, 4_000), true);
      assert.equal((await store.sessions.findValidByHash(hashToken(token), 6_000))?.lastUsedAt, 5_000);
      assert.equal(await store.sessions.touch(b, s.id, 6_000), false, "another organisation's session");
      assert.equal(await store.sessions.delete(b, s.id), false);

      const apiToken = await store.sessions.create({
        orgId: a,
        userId: user.id,
        tokenHash: hashToken(`${token}-api`),
        expiresAt: null,
        kind: 'api_token',
        name: 'CI',
      });
      assert.equal((await store.sessions.findValidByHash(hashToken(`${token}-api`), 9e12))?.id, apiToken.id);
      assert.equal((await store.sessions.listForUser(a, user.id)).length, 2);
      assert.equal((await store.sessions.listForUser(b, user.id)).length, 0);

      assert.ok((await store.sessions.deleteExpired(10_000)) >= 1);
      assert.equal((await store.sessions.listForUser(a, user.id)).length, 1, 'the API token stays');
      assert.equal(await store.sessions.delete(a, apiToken.id), true);
      assert.equal(await store.sessions.findValidByHash(hashToken(`${token}-api`), 0), undefined);
    });

    test('sites and devices: heartbeats upsert, a late heartbeat never replaces a newer one', async () => {
      const [a, b] = await twoOrgs();
      const site = await store.sites.create({ orgId: a, name: 'Shop', timeZone: 'Europe/London' });
      assert.equal((await store.sites.update(a, site.id, { name: 'Shop 1' }))?.name, 'Shop 1');
      assert.equal(await store.sites.update(b, site.id, { name: 'x' }), undefined);

      const d1 = await store.devices.upsertFromHeartbeat(heartbeat(a, 'edge-1', 5_000));
      assert.deepEqual([d1.name, d1.lastSeenAt, d1.status?.at], ['edge-1', 5_000, 5_000]);
      await store.devices.upsertFromHeartbeat(heartbeat(a, 'edge-1', 3_000));
      const d2 = await store.devices.get(a, 'edge-1');
      assert.deepEqual([d2?.lastSeenAt, d2?.status?.at], [5_000, 5_000], 'older heartbeat ignored');
      await store.devices.update(a, 'edge-1', { name: 'Till camera box', siteId: site.id });
      const d3 = await store.devices.upsertFromHeartbeat(heartbeat(a, 'edge-1', 7_000));
      assert.deepEqual([d3.name, d3.siteId, d3.lastSeenAt], ['Till camera box', site.id, 7_000]);
      assert.equal((await store.devices.list(a, { siteId: site.id })).items.length, 1);

      // The same device id in another organisation is another device.
      await store.devices.upsertFromHeartbeat(heartbeat(b, 'edge-1', 1_000));
      assert.equal((await store.devices.get(b, 'edge-1'))?.name, 'edge-1');
      assert.equal((await store.devices.get(a, 'edge-1'))?.lastSeenAt, 7_000);
      await assert.rejects(
        store.devices.update(a, 'edge-1', { siteId: uid('no-site') }),
        isCode('ICEBERG_ERR_INPUT_INVALID'),
      );

      assert.equal(await store.sites.delete(b, site.id), false);
      assert.equal(await store.sites.delete(a, site.id), true);
      assert.equal((await store.devices.get(a, 'edge-1'))?.siteId, null, 'device outlives its site');
    });

    test('cameras: the input stays out of reads; state only moves forward in time', async () => {
      const [a, b] = await twoOrgs();
      const input = 'rtsp://viewer:secret@192.0.2.10/stream1';
      const cam = await store.cameras.create({
        orgId: a,
        id: 'front-door',
        deviceId: 'edge-1',
        name: 'Front door',
        input,
        settings: { detect: { fps: 2 } },
        createdAt: 100,
      });
      assert.equal(JSON.stringify(cam).includes('secret'), false);
      assert.equal(JSON.stringify((await store.cameras.list(a)).items).includes('secret'), false);
      assert.equal((await store.cameras.getWithInput(a, 'front-door'))?.input, input);
      assert.deepEqual(cam.settings, { detect: { fps: 2 } });
      assert.equal(cam.state, 'connecting');
      await assert.rejects(
        store.cameras.create({ orgId: a, id: 'front-door', deviceId: 'edge-1', name: 'x', input: 'x' }),
        isCode('ICEBERG_ERR_CONFLICT'),
      );
      const other = await store.cameras.create({
        orgId: b,
        id: 'front-door',
        deviceId: 'e',
        name: 'B',
        input: 'b',
      });
      assert.equal(other.orgId, b);

      assert.equal(await store.cameras.setState(cameraStatus(a, 'front-door', 2_000, 'online')), true);
      assert.equal(await store.cameras.setState(cameraStatus(a, 'front-door', 1_000, 'offline')), false);
      let now = await store.cameras.get(a, 'front-door');
      assert.deepEqual([now?.state, now?.stateAt, now?.problem], ['online', 2_000, null]);
      assert.equal(await store.cameras.setState(cameraStatus(a, 'front-door', 3_000, 'offline')), true);
      now = await store.cameras.get(a, 'front-door');
      assert.deepEqual([now?.state, now?.problem?.code], ['offline', 'unreachable']);
      assert.equal((await store.cameras.get(b, 'front-door'))?.state, 'connecting', 'other tenant untouched');
      assert.equal(await store.cameras.setState(cameraStatus(a, 'unknown-cam', 3_000, 'online')), false);

      assert.equal(await store.cameras.setLatestSnapshot(a, 'front-door', 'snap/2.jpg', 20), true);
      assert.equal(await store.cameras.setLatestSnapshot(a, 'front-door', 'snap/1.jpg', 10), false);
      assert.equal((await store.cameras.get(a, 'front-door'))?.latestSnapshot, 'snap/2.jpg');

      const updated = await store.cameras.update(a, 'front-door', { name: 'Door', input: 'rtsp://new' }, 500);
      assert.deepEqual([updated?.name, updated?.updatedAt, updated?.state], ['Door', 500, 'offline']);
      assert.equal(await store.cameras.update(b, 'nope', { name: 'x' }), undefined);
      assert.equal(await store.cameras.delete(b, 'nope'), false);
      assert.equal(await store.cameras.delete(a, 'front-door'), true);
      assert.equal(await store.cameras.get(a, 'front-door'), undefined);
      assert.equal((await store.cameras.get(b, 'front-door'))?.name, 'B');
    });

    test('rules: listEnabledForCamera sees rules for that camera or for every camera', async () => {
      const [a, b] = await twoOrgs();
      const spec = {
        kind: 'zone',
        zone: [
          [0, 0],
          [1, 0],
          [1, 1],
        ],
        classes: ['person'],
      };
      const door = await store.rules.create({
        orgId: a,
        name: 'door',
        cameraIds: ['front-door'],
        spec,
        createdAt: 1,
      });
      const all = await store.rules.create({ orgId: a, name: 'all', spec: { kind: 'count' }, createdAt: 2 });
      await store.rules.create({
        orgId: a,
        name: 'off',
        enabled: false,
        cameraIds: ['front-door'],
        spec,
        createdAt: 3,
      });
      await store.rules.create({ orgId: a, name: 'yard', cameraIds: ['yard'], spec, createdAt: 4 });
      await store.rules.create({ orgId: b, name: 'theirs', spec, createdAt: 1 });
      assert.deepEqual(door.spec, spec);
      assert.deepEqual(
        (await store.rules.listEnabledForCamera(a, 'front-door')).map((r) => r.name),
        ['door', 'all'],
      );
      assert.deepEqual(
        (await store.rules.listEnabledForCamera(a, 'yard')).map((r) => r.name),
        ['all', 'yard'],
      );
      assert.equal((await store.rules.list(a)).items.length, 4);
      assert.equal((await store.rules.list(a, { enabled: false })).items.length, 1);

      const off = await store.rules.update(a, door.id, { enabled: false }, 99);
      assert.deepEqual([off?.enabled, off?.updatedAt, off?.createdAt], [false, 99, 1]);
      assert.deepEqual(
        (await store.rules.listEnabledForCamera(a, 'front-door')).map((r) => r.name),
        ['all'],
      );
      assert.equal(await store.rules.get(b, all.id), undefined);
      assert.equal(await store.rules.update(b, all.id, { name: 'x' }), undefined);
      assert.equal(await store.rules.delete(b, all.id), false);
      assert.equal(await store.rules.delete(a, all.id), true);
    });

    test('rule states: saved per camera, replaced on save, gone with their rule, kept per tenant', async () => {
      const [a, b] = await twoOrgs();
      const spec = { trigger: { type: 'anywhere' }, classes: ['person'] };
      const door = await store.rules.create({ orgId: a, name: 'door', spec, createdAt: 1 });
      const yard = await store.rules.create({ orgId: a, name: 'yard', spec, createdAt: 2 });
      const theirs = await store.rules.create({ orgId: b, name: 'theirs', spec, createdAt: 1 });
      const state = (n: number) => ({ version: 1, lastFrameAt: n, tracks: [{ id: `t${n}`, firedAt: n }] });

      assert.deepEqual(await store.ruleStates.load(a, 'front-door'), []);
      assert.equal(
        await store.ruleStates.save(
          a,
          'front-door',
          [
            { ruleId: door.id, state: state(1) },
            { ruleId: yard.id, state: state(2) },
          ],
          10,
        ),
        2,
      );
      await store.ruleStates.save(a, 'front-door', [{ ruleId: door.id, state: state(3) }], 11);
      await store.ruleStates.save(b, 'front-door', [{ ruleId: theirs.id, state: state(9) }], 11);
      const byRule = (list: Array<{ ruleId: string; state: unknown }>) =>
        Object.fromEntries(list.map((s) => [s.ruleId, s.state]));
      assert.deepEqual(byRule(await store.ruleStates.load(a, 'front-door')), {
        [door.id]: state(3),
        [yard.id]: state(2),
      });
      assert.deepEqual(await store.ruleStates.load(a, 'yard'), [], 'per camera');
      assert.deepEqual(byRule(await store.ruleStates.load(b, 'front-door')), { [theirs.id]: state(9) });

      // A rule deleted while its state was in memory: that state is dropped, the others written.
      assert.equal(await store.rules.delete(a, yard.id), true);
      assert.deepEqual(byRule(await store.ruleStates.load(a, 'front-door')), { [door.id]: state(3) });
      assert.equal(
        await store.ruleStates.save(
          a,
          'front-door',
          [
            { ruleId: door.id, state: state(4) },
            { ruleId: yard.id, state: state(4) },
          ],
          12,
        ),
        1,
      );
      assert.deepEqual(byRule(await store.ruleStates.load(a, 'front-door')), { [door.id]: state(4) });
      // Another organisation's rule id cannot be written under this organisation.
      assert.equal(
        await store.ruleStates.save(a, 'front-door', [{ ruleId: theirs.id, state: state(5) }], 13),
        0,
      );
    });

    test('tracks: events applied twice and in any order converge to one row', async () => {
      const [a] = await twoOrgs();
      const events = trackEvents(a, 'front-door', 'k3-1');
      const inOrder = [];
      for (const e of events) inOrder.push(await store.tracks.applyEvent(e));
      assert.deepEqual(inOrder[0], { applied: true, created: true });
      assert.deepEqual(inOrder[1], { applied: true, created: false });
      const expected = await store.tracks.get(a, 'front-door', 'k3-1');
      assert.deepEqual(expected, {
        orgId: a,
        cameraId: 'front-door',
        trackId: 'k3-1',
        deviceId: 'edge-1',
        class: 'person',
        score: 0.8,
        firstSeenAt: 1_000_000,
        lastSeenAt: 1_010_000,
        endedAt: 1_014_000,
        stationary: true,
        box: [0.3, 0.1, 0.2, 0.4],
        snapshot: events[1]?.snapshot,
        hits: 21,
        updatedAt: 1_014_000,
      });
      for (const e of events)
        assert.deepEqual(await store.tracks.applyEvent(e), { applied: false, created: false });
      assert.deepEqual(await store.tracks.get(a, 'front-door', 'k3-1'), expected);

      for (let seed = 1; seed <= 6; seed++) {
        const trackId = `k3-shuffled-${seed}`;
        const evs = trackEvents(a, 'front-door', trackId);
        for (const e of shuffled([...evs, ...evs], seed)) await store.tracks.applyEvent(e);
        const got = await store.tracks.get(a, 'front-door', trackId);
        assert.deepEqual(got, { ...expected, trackId, snapshot: evs[1]?.snapshot }, `order ${seed}`);
      }

      // A batch holding several events of one track gives the same result.
      const batch = trackEvents(a, 'yard', 'k3-batch');
      assert.equal(await store.tracks.applyEvents(shuffled([...batch, ...batch], 9)), 1);
      const fromBatch = await store.tracks.get(a, 'yard', 'k3-batch');
      assert.deepEqual(
        [fromBatch?.endedAt, fromBatch?.hits, fromBatch?.lastSeenAt],
        [1_014_000, 21, 1_010_000],
      );
      assert.equal(await store.tracks.applyEvents(batch), 0, 'replaying the batch changes nothing');

      // While active: a late TrackStarted does not roll the track back.
      const live = trackEvents(a, 'front-door', 'k3-live');
      await store.tracks.applyEvent(live[1] as TrackEventV1);
      await store.tracks.applyEvent(live[0] as TrackEventV1);
      const active = await store.tracks.get(a, 'front-door', 'k3-live');
      assert.deepEqual([active?.lastSeenAt, active?.endedAt, active?.score], [1_005_000, null, 0.8]);
    });

    test('tracks: list filters by camera, class and time overlap, newest first', async () => {
      const [a, b] = await twoOrgs();
      const t = (cameraId: string, trackId: string, start: number, cls: 'person' | 'car' = 'person') =>
        trackEvents(a, cameraId, trackId, start).map((e) => ({ ...e, class: cls }));
      // Each track spans [start, start + 10 s].
      await store.tracks.applyEvents([
        ...t('cam-1', 'p1', 100_000),
        ...t('cam-1', 'c1', 200_000, 'car'),
        ...t('cam-2', 'p2', 300_000),
        ...t('cam-1', 'p3', 400_000).slice(0, 2),
      ]);
      await store.tracks.applyEvents(trackEvents(b, 'cam-1', 'theirs', 250_000));
      const ids = async (filter: Parameters<Store['tracks']['list']>[1]) =>
        (await store.tracks.list(a, filter)).items.map((r) => r.trackId);
      assert.deepEqual(await ids({}), ['p3', 'p2', 'c1', 'p1']);
      assert.deepEqual(await ids({ cameraId: 'cam-1' }), ['p3', 'c1', 'p1']);
      assert.deepEqual(await ids({ class: 'car' }), ['c1']);
      assert.deepEqual(await ids({ from: 205_000, to: 305_000 }), ['p2', 'c1'], 'overlapping the range');
      assert.deepEqual(await ids({ from: 211_000, to: 299_000 }), [], 'between tracks');
      assert.deepEqual(await ids({ active: true }), ['p3']);
      assert.deepEqual(await ids({ to: 150_000 }), ['p1']);
      assert.equal(await store.tracks.get(b, 'cam-1', 'p1'), undefined);
    });

    test('detections: 5,000 rows in batches, replays skipped, listed per camera, purged by age', async () => {
      const [a, b] = await twoOrgs();
      const rows = Array.from({ length: 5_000 }, (_, i) => detection(a, 'cam-1', i));
      assert.equal(await store.detections.insertMany(rows), 5_000);
      assert.equal(await store.detections.count(a), 5_000);
      assert.equal(await store.detections.insertMany(rows.slice(0, 600)), 0, 'a replay inserts nothing');
      assert.equal(await store.detections.insertMany([detection(b, 'cam-1', 0)]), 1);
      assert.equal(await store.detections.count(a, 'cam-1'), 5_000);
      assert.equal(await store.detections.count(b), 1);

      const newest = await store.detections.listForCamera(a, 'cam-1', {}, { limit: 2 });
      assert.deepEqual(
        newest.items.map((d) => d.seq),
        [4_999, 4_998],
      );
      assert.deepEqual(newest.items[0]?.objects, rows[4_999]?.objects);
      const { items } = await collectAll(
        (p) => store.detections.listForCamera(a, 'cam-1', { from: 3_000_000, to: 3_000_000 + 999 * 500 }, p),
        300,
      );
      assert.equal(items.length, 1_000);
      assert.equal(new Set(items.map((d) => d.seq)).size, 1_000);

      assert.equal(await store.detections.purgeOlderThan(3_000_000 + 1_000 * 500, a), 1_000);
      assert.equal(await store.detections.count(a), 4_000);
      assert.equal(await store.detections.count(b), 1, 'purging one organisation leaves the other');
    });

    test('alerts: insertIfNew stores one alert per dedupe key; list filters; status', async () => {
      const [a, b] = await twoOrgs();
      const first = alert(a, 1);
      const r1 = await store.alerts.insertIfNew(first);
      assert.equal(r1.created, true);
      assert.equal(r1.alert.id, first.id);
      assert.equal(r1.alert.statusBy, null);
      const r2 = await store.alerts.insertIfNew({ ...alert(a, 1), message: 'replayed' });
      assert.equal(r2.created, false);
      assert.deepEqual(r2.alert, r1.alert, 'the stored alert is returned');
      assert.equal((await store.alerts.list(a)).items.length, 1);
      // The same key in another organisation is another alert.
      assert.equal((await store.alerts.insertIfNew(alert(b, 1))).created, true);

      await store.alerts.insertIfNew(alert(a, 2, { cameraId: 'yard', ruleId: 'rule-2' }));
      await store.alerts.insertIfNew(alert(a, 3, { cameraId: 'yard' }));
      const ids = async (filter: Parameters<Store['alerts']['list']>[1]) =>
        (await store.alerts.list(a, filter)).items.map((x) => x.trackIds[0]);
      assert.deepEqual(await ids({}), ['t-3', 't-2', 't-1']);
      assert.deepEqual(await ids({ cameraId: 'yard' }), ['t-3', 't-2']);
      assert.deepEqual(await ids({ ruleId: 'rule-2' }), ['t-2']);
      assert.deepEqual(await ids({ from: 2_000_002, to: 2_000_002 }), ['t-2']);

      const acked = await store.alerts.setStatus(a, first.id, 'acknowledged', 'user-1', 9_000);
      assert.deepEqual([acked?.status, acked?.statusBy, acked?.statusAt], ['acknowledged', 'user-1', 9_000]);
      assert.deepEqual(await ids({ status: 'acknowledged' }), ['t-1']);
      assert.deepEqual(await ids({ status: 'new' }), ['t-3', 't-2']);
      assert.equal(await store.alerts.setStatus(b, first.id, 'resolved', 'x', 1), undefined);
      assert.equal(await store.alerts.get(b, first.id), undefined);
      assert.equal((await store.alerts.get(a, first.id))?.status, 'acknowledged');
    });

    test('action outcomes: every attempt recorded, idempotent by id, listed for the alert', async () => {
      const [a, b] = await twoOrgs();
      const action = { type: 'webhook', target: 'https://hooks.example.com/x' };
      const r1 = await store.actionOutcomes.record({
        id: 'attempt-1',
        orgId: a,
        alertId: 'al-1',
        action,
        attempt: 1,
        ok: false,
        statusCode: 503,
        error: 'Service Unavailable',
        outcome: 'retrying',
        durationMs: 12.5,
        nextAttemptAt: 1_010,
        at: 10,
      });
      assert.equal(r1.created, true);
      assert.deepEqual(
        [r1.outcome.outcome, r1.outcome.durationMs, r1.outcome.nextAttemptAt],
        ['retrying', 12.5, 1_010],
      );
      const again = await store.actionOutcomes.record({
        id: 'attempt-1',
        orgId: a,
        alertId: 'al-1',
        action,
        attempt: 1,
        ok: true,
        at: 11,
      });
      assert.deepEqual(again, { created: false, outcome: r1.outcome }, 'the same record twice: kept once');
      // The action dispatcher's own shape: the action as its description string.
      await store.actionOutcomes.record({
        orgId: a,
        alertId: 'al-1',
        action: 'webhook https://hooks.example.com/x',
        attempt: 2,
        ok: true,
        statusCode: 200,
        error: null,
        at: 1_010,
        durationMs: 8,
        outcome: 'delivered',
        nextAttemptAt: null,
      });
      const list = await store.actionOutcomes.listForAlert(a, 'al-1');
      assert.deepEqual(
        list.map((o) => [o.attempt, o.ok, o.statusCode, o.outcome]),
        [
          [1, false, 503, 'retrying'],
          [2, true, 200, 'delivered'],
        ],
      );
      assert.deepEqual(list[1]?.action, action);
      assert.deepEqual(await store.actionOutcomes.listForAlert(b, 'al-1'), []);
      // The same id in another organisation is another record.
      assert.equal(
        (
          await store.actionOutcomes.record({
            id: 'attempt-1',
            orgId: b,
            alertId: 'al-1',
            action,
            attempt: 1,
            ok: true,
            at: 1,
          })
        ).created,
        true,
      );
    });

    test('dead letters: scoped to an organisation or to all; count and replay', async () => {
      const [a, b] = await twoOrgs();
      const letter = (n: number) => ({
        topic: 'track',
        key: `cam-${n}`,
        value: '{"bad": true}',
        encoding: 'utf8' as const,
        headers: { 'content-type': 'application/json' },
        reason: 'invalid' as const,
        error: 'schema: missing trackId',
        group: 'analytics',
        at: 5_000 + n,
      });
      const la = await store.deadLetters.insert(letter(1), a);
      await store.deadLetters.insert(letter(2), a);
      const lb = await store.deadLetters.insert(letter(3), b);
      const orphan = await store.deadLetters.insert(letter(4), null);
      assert.deepEqual(la.headers, { 'content-type': 'application/json' });
      assert.equal(la.group, 'analytics');
      assert.equal(await store.deadLetters.count({ orgId: a }), 2);
      assert.deepEqual(
        (await store.deadLetters.list({ orgId: a })).items.map((l) => l.key),
        ['cam-2', 'cam-1'],
      );
      const everyone = (await store.deadLetters.list('all', {}, { limit: 500 })).items.map((l) => l.id);
      for (const id of [la.id, lb.id, orphan.id]) assert.ok(everyone.includes(id));
      assert.equal(await store.deadLetters.get({ orgId: a }, lb.id), undefined);
      assert.equal((await store.deadLetters.get('all', orphan.id))?.orgId, null);

      assert.equal(await store.deadLetters.markReplayed({ orgId: b }, la.id, 9_000), false);
      assert.equal(await store.deadLetters.markReplayed({ orgId: a }, la.id, 9_000), true);
      assert.equal(await store.deadLetters.markReplayed({ orgId: a }, la.id, 9_500), true);
      assert.equal(
        (await store.deadLetters.get({ orgId: a }, la.id))?.replayedAt,
        9_000,
        'first replay kept',
      );
      assert.equal(await store.deadLetters.count({ orgId: a }, { replayed: false }), 1);
      assert.equal(await store.deadLetters.count({ orgId: a }, { replayed: true, topic: 'track' }), 1);
      assert.equal(await store.deadLetters.count({ orgId: a }, { topic: 'detection' }), 0);
    });

    test('tenant isolation: nothing of organisation B is visible through organisation A', async () => {
      const [a, b] = await twoOrgs();
      const user = await store.users.create({
        orgId: b,
        email: `${uid('b')}@b.io`,
        name: 'B',
        role: 'owner',
        passwordHash: 'h',
      });
      const session = await store.sessions.create({
        orgId: b,
        userId: user.id,
        tokenHash: hashToken(uid('t')),
        expiresAt: null,
      });
      const site = await store.sites.create({ orgId: b, name: 'B site' });
      await store.devices.upsertFromHeartbeat(heartbeat(b, 'edge-b', 1));
      await store.cameras.create({ orgId: b, id: 'cam-b', deviceId: 'edge-b', name: 'B', input: 'rtsp://b' });
      const rule = await store.rules.create({ orgId: b, name: 'B rule', spec: {} });
      await store.tracks.applyEvents(trackEvents(b, 'cam-b', 'trk-b'));
      await store.detections.insertMany([detection(b, 'cam-b', 1)]);
      const al = await store.alerts.insertIfNew(alert(b, 1, { cameraId: 'cam-b' }));
      await store.actionOutcomes.record({
        orgId: b,
        alertId: al.alert.id,
        action: { type: 'email', target: 'b@b.io' },
        attempt: 1,
        ok: true,
        at: 1,
      });
      const dl = await store.deadLetters.insert(
        {
          topic: 't',
          key: 'k',
          value: 'v',
          encoding: 'utf8',
          headers: {},
          reason: 'invalid',
          error: 'e',
          group: 'g',
          at: 1,
        },
        b,
      );

      assert.equal(await store.users.get(a, user.id), undefined);
      assert.deepEqual((await store.users.list(a)).items, []);
      assert.deepEqual(await store.sessions.listForUser(a, user.id), []);
      assert.equal(await store.sessions.touch(a, session.id, 2), false);
      assert.equal(await store.sessions.delete(a, session.id), false);
      assert.equal(await store.sites.get(a, site.id), undefined);
      assert.deepEqual((await store.sites.list(a)).items, []);
      assert.equal(await store.sites.delete(a, site.id), false);
      assert.equal(await store.devices.get(a, 'edge-b'), undefined);
      assert.deepEqual((await store.devices.list(a)).items, []);
      assert.equal(await store.devices.update(a, 'edge-b', { name: 'x' }), undefined);
      assert.equal(await store.devices.delete(a, 'edge-b'), false);
      assert.equal(await store.cameras.get(a, 'cam-b'), undefined);
      assert.equal(await store.cameras.getWithInput(a, 'cam-b'), undefined);
      assert.deepEqual((await store.cameras.list(a)).items, []);
      assert.equal(await store.cameras.setState(cameraStatus(a, 'cam-b', 5, 'online')), false);
      assert.equal(await store.cameras.setLatestSnapshot(a, 'cam-b', 'x.jpg', 5), false);
      assert.equal(await store.rules.get(a, rule.id), undefined);
      assert.deepEqual((await store.rules.list(a)).items, []);
      assert.deepEqual(await store.rules.listEnabledForCamera(a, 'cam-b'), []);
      assert.equal(await store.tracks.get(a, 'cam-b', 'trk-b'), undefined);
      assert.deepEqual((await store.tracks.list(a)).items, []);
      assert.equal(await store.detections.count(a), 0);
      assert.deepEqual((await store.detections.listForCamera(a, 'cam-b')).items, []);
      assert.equal(await store.detections.purgeOlderThan(Number.MAX_SAFE_INTEGER, a), 0);
      assert.equal(await store.alerts.get(a, al.alert.id), undefined);
      assert.equal(await store.alerts.getByDedupeKey(a, al.alert.dedupeKey), undefined);
      assert.deepEqual((await store.alerts.list(a)).items, []);
      assert.deepEqual(await store.actionOutcomes.listForAlert(a, al.alert.id), []);
      assert.equal(await store.deadLetters.get({ orgId: a }, dl.id), undefined);
      assert.deepEqual((await store.deadLetters.list({ orgId: a })).items, []);
      assert.equal(await store.deadLetters.count({ orgId: a }), 0);
      assert.equal(await store.deadLetters.markReplayed({ orgId: a }, dl.id, 2), false);

      // …and all of it is still there for B.
      assert.equal((await store.cameras.get(b, 'cam-b'))?.state, 'connecting');
      assert.equal((await store.devices.get(b, 'edge-b'))?.name, 'edge-b');
      assert.equal(await store.detections.count(b), 1);
      assert.equal((await store.deadLetters.get({ orgId: b }, dl.id))?.replayedAt, null);
    });

    test('pagination returns every row exactly once, in order, even with equal sort keys', async () => {
      const [a] = await twoOrgs();
      const n = 237;
      // Many alerts share the same `at`: the cursor must break ties by id.
      for (let i = 0; i < n; i++)
        await store.alerts.insertIfNew(alert(a, i, { at: 2_000_000 + Math.floor(i / 10) }));
      const alerts = await collectAll((p) => store.alerts.list(a, {}, p), 50);
      assert.equal(alerts.pages, 5);
      assert.equal(alerts.items.length, n);
      assert.equal(new Set(alerts.items.map((x) => x.id)).size, n);
      for (let i = 1; i < alerts.items.length; i++) {
        const [p, q] = [alerts.items[i - 1], alerts.items[i]] as [
          { at: number; id: string },
          { at: number; id: string },
        ];
        assert.ok(p.at > q.at || (p.at === q.at && p.id > q.id), 'newest first');
      }

      const events = [];
      for (let i = 0; i < n; i++)
        events.push(...trackEvents(a, `cam-${i % 3}`, `p-${i}`, 100_000 + Math.floor(i / 7)));
      await store.tracks.applyEvents(events);
      const tracks = await collectAll((p) => store.tracks.list(a, {}, p), 40);
      assert.equal(tracks.items.length, n);
      assert.equal(new Set(tracks.items.map((t) => `${t.cameraId}/${t.trackId}`)).size, n);

      for (let i = 0; i < 61; i++) {
        await store.cameras.create({
          orgId: a,
          id: `cam-${String(i).padStart(3, '0')}`,
          deviceId: 'e',
          name: 'c',
          input: 'x',
        });
        await store.devices.upsertFromHeartbeat(heartbeat(a, `dev-${i}`, 1));
        await store.users.create({
          orgId: a,
          email: `${uid('p')}@p.io`,
          name: 'p',
          role: 'viewer',
          passwordHash: 'h',
          createdAt: 7,
        });
        await store.sites.create({ orgId: a, name: 's', createdAt: i % 2 });
        await store.rules.create({ orgId: a, name: 'r', spec: {}, createdAt: 3 });
        await store.deadLetters.insert(
          {
            topic: 't',
            key: 'k',
            value: 'v',
            encoding: 'utf8',
            headers: {},
            reason: 'invalid',
            error: 'e',
            group: 'g',
            at: 4,
          },
          a,
        );
      }
      const lists: [string, (p: PageRequest) => Promise<Page<unknown>>, (x: never) => string][] = [
        ['cameras', (p) => store.cameras.list(a, {}, p), (x: { id: string }) => x.id],
        ['devices', (p) => store.devices.list(a, {}, p), (x: { id: string }) => x.id],
        ['users', (p) => store.users.list(a, p), (x: { id: string }) => x.id],
        ['sites', (p) => store.sites.list(a, p), (x: { id: string }) => x.id],
        ['rules', (p) => store.rules.list(a, {}, p), (x: { id: string }) => x.id],
        ['dead letters', (p) => store.deadLetters.list({ orgId: a }, {}, p), (x: { id: string }) => x.id],
      ];
      for (const [what, fetch, idOf] of lists) {
        const all = await collectAll(fetch, 20);
        assert.equal(all.pages, 4, what);
        assert.equal(all.items.length, 61, what);
        assert.equal(new Set(all.items.map((x) => idOf(x as never))).size, 61, `${what}: no repeats`);
      }

      await assert.rejects(store.alerts.list(a, {}, { limit: 0 }), isCode('ICEBERG_ERR_INPUT_INVALID'));
      assert.equal(
        (await store.alerts.list(a, {}, { limit: 10_000 })).items.length,
        n,
        'capped, not refused',
      );
      assert.equal((await store.alerts.list(a, {}, { limit: 501 })).items.length, Math.min(n, 500));
      await assert.rejects(
        store.alerts.list(a, {}, { cursor: 'garbage' }),
        isCode('ICEBERG_ERR_INPUT_INVALID'),
      );
      const trackCursor = (await store.tracks.list(a, {}, { limit: 1 })).nextCursor as string;
      await assert.rejects(
        store.alerts.list(a, {}, { cursor: trackCursor }),
        isCode('ICEBERG_ERR_INPUT_INVALID'),
      );
    });

    test('a transaction makes several repository writes atomic', async () => {
      const id = uid('org-tx');
      await assert.rejects(
        database.db.transaction().execute(async (trx) => {
          const tx = createStore(trx);
          await tx.organisations.create({ id, name: 'T' });
          await tx.sites.create({ orgId: id, name: 'S' });
          throw new Error('rollback');
        }),
        /rollback/,
      );
      assert.equal(await store.organisations.get(id), undefined);
      await database.db.transaction().execute(async (trx) => {
        const tx = createStore(trx);
        await tx.organisations.create({ id, name: 'T' });
        await tx.detections.insertMany(Array.from({ length: 1_200 }, (_, i) => detection(id, 'c', i)));
      });
      assert.equal(await store.detections.count(id), 1_200);
    });
  });
}
