/**
 * The recordings index and the shared server secrets, on PGlite (in memory) and on a real
 * PostgreSQL: idempotent reports, deletions that stick, range queries, tenant isolation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RecordingSegmentV1 } from '@iceberg/contracts';
import {
  createStore,
  type Database,
  defaultPgliteTemplatePath,
  MAX_SEGMENT_MS,
  openDatabase,
  type Store,
} from '../src/index.ts';
import { type PostgresServer, startPostgres } from './postgres-server.ts';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

function segment(
  orgId: string,
  cameraId: string,
  startedAt: number,
  durationMs = 10_000,
): RecordingSegmentV1 {
  return {
    segmentId: `${cameraId}:${startedAt}`,
    startedAt,
    endedAt: startedAt + durationMs,
    durationMs,
    bytes: 1_300_000,
    path: `recordings/${orgId}/${cameraId}/20261125/10/${startedAt}.mp4`,
    reason: 'continuous',
    codec: 'h264',
    width: 768,
    height: 576,
  };
}

function defineSuite(name: string, open: () => Promise<Database>) {
  describe(`recordings and secrets on ${name}`, () => {
    let database: Database;
    let store: Store;
    before(async () => {
      database = await open();
      store = createStore(database.db);
    });
    after(async () => {
      await database?.close();
    });

    test('a segment reported twice is one row; an older report does not overwrite a newer one', async () => {
      const org = uid('org');
      const s = segment(org, 'door', T0);
      const first = await store.recordings.upsert({
        orgId: org,
        cameraId: 'door',
        deviceId: 'edge-1',
        at: T0 + 10_500,
        segment: s,
      });
      assert.deepEqual(first, { created: true, applied: true });
      const again = await store.recordings.upsert({
        orgId: org,
        cameraId: 'door',
        deviceId: 'edge-1',
        at: T0 + 10_500,
        segment: s,
      });
      assert.equal(again.created, false);
      // the device re-finalised the segment after a crash: a later report with another size wins
      await store.recordings.upsert({
        orgId: org,
        cameraId: 'door',
        deviceId: 'edge-1',
        at: T0 + 20_000,
        segment: { ...s, bytes: 999 },
      });
      const stale = await store.recordings.upsert({
        orgId: org,
        cameraId: 'door',
        deviceId: 'edge-1',
        at: T0 + 10_500,
        segment: { ...s, bytes: 1 },
      });
      assert.equal(stale.applied, false);
      const rows = await store.recordings.listRange(org, 'door', { from: T0 - 60_000, to: T0 + 60_000 });
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.bytes, 999);
      assert.equal(rows[0]?.width, 768);
      assert.equal(typeof rows[0]?.startedAt, 'number');
    });

    test('deleted segments leave the range and a replayed report does not bring them back', async () => {
      const org = uid('org');
      const segs = [0, 1, 2, 3].map((i) => segment(org, 'yard', T0 + i * 10_000));
      for (const s of segs)
        await store.recordings.upsert({
          orgId: org,
          cameraId: 'yard',
          deviceId: 'e',
          at: s.endedAt,
          segment: s,
        });
      const ids = segs.slice(0, 2).map((s) => s.segmentId);
      assert.equal(await store.recordings.markDeleted(org, 'yard', ids, T0 + 99_000, 'max_age'), 2);
      assert.equal(await store.recordings.markDeleted(org, 'yard', ids, T0 + 99_999, 'user'), 0);
      for (const s of segs.slice(0, 2))
        await store.recordings.upsert({
          orgId: org,
          cameraId: 'yard',
          deviceId: 'e',
          at: T0 + 200_000,
          segment: s,
        });
      const live = await store.recordings.listRange(org, 'yard', { from: T0, to: T0 + 60_000 });
      assert.deepEqual(
        live.map((r) => r.segmentId),
        segs.slice(2).map((s) => s.segmentId),
      );
      const all = await store.recordings.listRange(org, 'yard', {
        from: T0,
        to: T0 + 60_000,
        includeDeleted: true,
      });
      assert.equal(all.length, 4);
      assert.equal(all[0]?.deletedAt, T0 + 99_000);
      assert.equal(all[0]?.deletedReason, 'max_age');
    });

    test('a range returns the segments that overlap it, oldest first, and nothing of other cameras', async () => {
      const org = uid('org');
      // 10:00:00–10:01:00 in six segments, a gap, then 10:05:00–10:05:10; another camera alongside
      const starts = [0, 10, 20, 30, 40, 50, 300].map((s) => T0 + s * 1000);
      for (const at of [...starts].reverse()) {
        const s = segment(org, 'gate', at);
        await store.recordings.upsert({
          orgId: org,
          cameraId: 'gate',
          deviceId: 'e',
          at: s.endedAt,
          segment: s,
        });
      }
      const other = segment(org, 'other', T0 + 15_000);
      await store.recordings.upsert({ orgId: org, cameraId: 'other', deviceId: 'e', at: 1, segment: other });
      const mid = await store.recordings.listRange(org, 'gate', { from: T0 + 15_000, to: T0 + 35_000 });
      assert.deepEqual(
        mid.map((r) => r.startedAt),
        [T0 + 10_000, T0 + 20_000, T0 + 30_000],
        'the segment that started before `from` but runs into it is included; the one starting at `to` is not',
      );
      const edge = await store.recordings.listRange(org, 'gate', { from: T0 + 60_000, to: T0 + 300_000 });
      assert.deepEqual(edge, [], 'a segment ending exactly at `from` and one starting at `to` are outside');
      const longAgo = await store.recordings.listRange(org, 'gate', {
        from: T0 - MAX_SEGMENT_MS,
        to: T0 + 400_000,
        limit: 3,
      });
      assert.deepEqual(
        longAgo.map((r) => r.startedAt),
        starts.slice(0, 3),
      );
    });

    test('another organisation sees none of the segments and cannot delete them', async () => {
      const a = uid('org-a');
      const b = uid('org-b');
      const s = segment(a, 'door', T0);
      await store.recordings.upsert({ orgId: a, cameraId: 'door', deviceId: 'e', at: 1, segment: s });
      assert.deepEqual(await store.recordings.listRange(b, 'door', { from: T0, to: T0 + 60_000 }), []);
      assert.equal(await store.recordings.get(b, 'door', s.segmentId), undefined);
      assert.equal(await store.recordings.markDeleted(b, 'door', [s.segmentId], 2, 'user'), 0);
      assert.equal((await store.recordings.get(a, 'door', s.segmentId))?.deletedAt, null);
    });

    test('a secret is created once and read back the same by every caller', async () => {
      const name = uid('media-url-key');
      const values = await Promise.all([1, 2, 3].map(() => store.secrets.getOrCreate(name)));
      assert.equal(new Set(values).size, 1);
      assert.ok((values[0] ?? '').length >= 40, 'a 256-bit key');
      assert.equal(await store.secrets.getOrCreate(name, () => 'another'), values[0]);
      assert.notEqual(await store.secrets.getOrCreate(uid('other')), values[0]);
    });
  });
}

defineSuite('PGlite in memory', () => openDatabase({ pgliteTemplate: defaultPgliteTemplatePath() }));

describe('PostgreSQL', () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());
  defineSuite('PostgreSQL', async () => openDatabase({ url: await server.createDatabase('recordings') }));
});
