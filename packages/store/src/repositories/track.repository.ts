import type { Box, ObjectClass, SnapshotRefV1, TrackEventV1 } from '@iceberg/contracts';
import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import { toJson, toJsonOrNull } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { Schema, TracksTable } from '../schema.ts';

/** One tracked object, as of the newest event applied. */
export interface TrackRecord {
  orgId: string;
  cameraId: string;
  trackId: string;
  deviceId: string;
  class: ObjectClass;
  /** Best score so far. */
  score: number;
  firstSeenAt: number;
  lastSeenAt: number;
  /** When the track ended (`at` of TrackEnded); null while it is active. */
  endedAt: number | null;
  stationary: boolean;
  /** The last box seen. */
  box: Box;
  snapshot: SnapshotRefV1 | null;
  /** Analysed frames in which the object was matched; known once the track has ended. */
  hits: number | null;
  /** `at` of the event the record reflects. */
  updatedAt: number;
}

export interface TrackListFilter {
  cameraId?: string;
  class?: ObjectClass;
  /** Tracks seen at some moment in [from, to] (either bound optional). */
  from?: number;
  to?: number;
  /** true: only active tracks; false: only ended ones. */
  active?: boolean;
}

export interface ApplyResult {
  /** False when the stored state was already as new or newer (a replay, or an event out of order). */
  applied: boolean;
  /** True when this event created the track's row. */
  created: boolean;
}

const toRecord = (r: Selectable<TracksTable>): TrackRecord => ({
  orgId: r.org_id,
  cameraId: r.camera_id,
  trackId: r.track_id,
  deviceId: r.device_id,
  class: r.class as ObjectClass,
  score: r.score,
  firstSeenAt: r.first_seen_at,
  lastSeenAt: r.last_seen_at,
  endedAt: r.ended_at,
  stationary: r.stationary,
  box: r.box,
  snapshot: (r.snapshot as SnapshotRefV1 | null) ?? null,
  hits: r.hits,
  updatedAt: r.event_at,
});

function toRow(e: TrackEventV1): Insertable<TracksTable> {
  const ended = e.type === 'TrackEnded';
  return {
    org_id: e.orgId,
    camera_id: e.cameraId,
    track_id: e.trackId,
    device_id: e.deviceId,
    class: e.class,
    score: e.score,
    first_seen_at: e.firstSeenAt,
    last_seen_at: e.lastSeenAt,
    ended_at: ended ? e.at : null,
    stationary: e.stationary,
    box: toJson(e.box),
    snapshot: toJsonOrNull(e.snapshot),
    hits: ended ? e.hits : null,
    event_at: e.at,
  };
}

/**
 * The order of a track's states: an ended track is final; otherwise the later `lastSeenAt`, then
 * the later `at`, wins. The same order is written in SQL in `applyRows()`.
 */
export function compareTrackEvents(a: TrackEventV1, b: TrackEventV1): number {
  const endedA = a.type === 'TrackEnded' ? 1 : 0;
  const endedB = b.type === 'TrackEnded' ? 1 : 0;
  return endedA - endedB || a.lastSeenAt - b.lastSeenAt || a.at - b.at;
}

const CURSOR = 'tracks';

export class TrackRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Upserts the track from one of its events. Idempotent and order-insensitive: applying the
   * same events again, or in another order, leaves the same single row (the newest state by
   * ended / lastSeenAt / at).
   */
  async applyEvent(event: TrackEventV1): Promise<ApplyResult> {
    const rows = await this.applyRows([toRow(event)]);
    const row = rows[0];
    return { applied: row !== undefined, created: row?.created === true };
  }

  /**
   * `applyEvent` for many events in a few statements (batches of 500); returns how many rows
   * changed. Several events of one track in the batch collapse to the newest first.
   */
  async applyEvents(events: readonly TrackEventV1[]): Promise<number> {
    const newest = new Map<string, TrackEventV1>();
    for (const e of events) {
      const key = JSON.stringify([e.orgId, e.cameraId, e.trackId]);
      const seen = newest.get(key);
      if (!seen || compareTrackEvents(e, seen) > 0) newest.set(key, e);
    }
    const rows = [...newest.values()].map(toRow);
    let changed = 0;
    for (let i = 0; i < rows.length; i += 500)
      changed += (await this.applyRows(rows.slice(i, i + 500))).length;
    return changed;
  }

  private applyRows(rows: Insertable<TracksTable>[]) {
    return this.db
      .insertInto('tracks')
      .values(rows)
      .onConflict((oc) =>
        oc
          .columns(['org_id', 'camera_id', 'track_id'])
          .doUpdateSet((eb) => ({
            device_id: eb.ref('excluded.device_id'),
            class: eb.ref('excluded.class'),
            score: eb.fn('greatest', [eb.ref('tracks.score'), eb.ref('excluded.score')]),
            first_seen_at: eb.fn('least', [eb.ref('tracks.first_seen_at'), eb.ref('excluded.first_seen_at')]),
            last_seen_at: eb.ref('excluded.last_seen_at'),
            ended_at: eb.ref('excluded.ended_at'),
            stationary: eb.ref('excluded.stationary'),
            box: eb.ref('excluded.box'),
            snapshot: eb.fn.coalesce('excluded.snapshot', 'tracks.snapshot'),
            hits: eb.fn.coalesce('excluded.hits', 'tracks.hits'),
            event_at: eb.ref('excluded.event_at'),
          }))
          .where(
            sql<boolean>`(excluded.ended_at is not null, excluded.last_seen_at, excluded.event_at)
              > (tracks.ended_at is not null, tracks.last_seen_at, tracks.event_at)`,
          ),
      )
      .returning(sql<boolean>`(xmax = 0)`.as('created'))
      .execute();
  }

  async get(orgId: string, cameraId: string, trackId: string): Promise<TrackRecord | undefined> {
    const row = await this.db
      .selectFrom('tracks')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('camera_id', '=', cameraId)
      .where('track_id', '=', trackId)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Newest first (by first seen). */
  async list(
    orgId: string,
    filter: TrackListFilter = {},
    page: PageRequest = {},
  ): Promise<Page<TrackRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db.selectFrom('tracks').selectAll().where('org_id', '=', orgId);
    if (filter.cameraId !== undefined) q = q.where('camera_id', '=', filter.cameraId);
    if (filter.class !== undefined) q = q.where('class', '=', filter.class);
    if (filter.to !== undefined) q = q.where('first_seen_at', '<=', filter.to);
    if (filter.from !== undefined) q = q.where('last_seen_at', '>=', filter.from);
    if (filter.active !== undefined) q = q.where('ended_at', filter.active ? 'is' : 'is not', null);
    if (page.cursor) {
      const [at, cameraId, trackId] = decodeCursor(CURSOR, page.cursor, ['number', 'string', 'string']) as [
        number,
        string,
        string,
      ];
      q = q.where((eb) =>
        eb(eb.refTuple('first_seen_at', 'camera_id', 'track_id'), '<', eb.tuple(at, cameraId, trackId)),
      );
    }
    const rows = await q
      .orderBy('first_seen_at', 'desc')
      .orderBy('camera_id', 'desc')
      .orderBy('track_id', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toRecord, (r) =>
      encodeCursor(CURSOR, [r.first_seen_at, r.camera_id, r.track_id]),
    );
  }
}
