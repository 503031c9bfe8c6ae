import type { RecordingSegmentV1 } from '@iceberg/contracts';
import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { RecordingsTable, Schema } from '../schema.ts';

/** One recorded segment of a camera, as its device reported it. */
export interface RecordingRecord {
  orgId: string;
  cameraId: string;
  segmentId: string;
  deviceId: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  bytes: number;
  /** Relative to the device's data directory. */
  path: string;
  reason: 'continuous' | 'event';
  codec: string | null;
  width: number | null;
  height: number | null;
  reportedAt: number;
  deletedAt: number | null;
  deletedReason: string | null;
}

/** A SegmentRecorded as the repository takes it. */
export interface RecordedSegmentInput {
  orgId: string;
  cameraId: string;
  deviceId: string;
  /** `at` of the event. */
  at: number;
  segment: RecordingSegmentV1;
}

export interface RecordingRangeQuery {
  /** Segments that overlap [from, to): end after `from`, start before `to`. */
  from: number;
  to: number;
  /** At most this many (oldest first); default 20,000. */
  limit?: number;
  /** Also the segments the device has deleted. */
  includeDeleted?: boolean;
}

/**
 * No segment is longer than this: range queries look this far back for segments that started
 * before `from` and still overlap it, so that the (org, camera, started_at) index bounds them.
 */
export const MAX_SEGMENT_MS = 3_600_000;

const toRecord = (r: Selectable<RecordingsTable>): RecordingRecord => ({
  orgId: r.org_id,
  cameraId: r.camera_id,
  segmentId: r.segment_id,
  deviceId: r.device_id,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  durationMs: r.duration_ms,
  bytes: r.bytes,
  path: r.path,
  reason: r.reason,
  codec: r.codec,
  width: r.width,
  height: r.height,
  reportedAt: r.reported_at,
  deletedAt: r.deleted_at,
  deletedReason: r.deleted_reason,
});

function toRow(e: RecordedSegmentInput): Insertable<RecordingsTable> {
  const s = e.segment;
  return {
    org_id: e.orgId,
    camera_id: e.cameraId,
    segment_id: s.segmentId,
    device_id: e.deviceId,
    started_at: s.startedAt,
    ended_at: s.endedAt,
    duration_ms: s.durationMs,
    bytes: s.bytes,
    path: s.path,
    reason: s.reason,
    codec: s.codec ?? null,
    width: s.width ?? null,
    height: s.height ?? null,
    reported_at: e.at,
  };
}

/** The DVR segment index of every camera: idempotent writes from the bus, range reads for playback. */
export class RecordingRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Stores a reported segment, or updates it when the device reports it again (a newer or equal
   * report wins; an older one changes nothing). A segment already marked deleted stays deleted:
   * a replayed report never brings a removed file back. Returns whether a row was created.
   */
  async upsert(input: RecordedSegmentInput): Promise<{ created: boolean; applied: boolean }> {
    const row = await this.db
      .insertInto('recordings')
      .values(toRow(input))
      .onConflict((oc) =>
        oc
          .columns(['org_id', 'camera_id', 'segment_id'])
          .doUpdateSet((eb) => ({
            device_id: eb.ref('excluded.device_id'),
            started_at: eb.ref('excluded.started_at'),
            ended_at: eb.ref('excluded.ended_at'),
            duration_ms: eb.ref('excluded.duration_ms'),
            bytes: eb.ref('excluded.bytes'),
            path: eb.ref('excluded.path'),
            reason: eb.ref('excluded.reason'),
            codec: eb.ref('excluded.codec'),
            width: eb.ref('excluded.width'),
            height: eb.ref('excluded.height'),
            reported_at: eb.ref('excluded.reported_at'),
          }))
          .where(sql<boolean>`excluded.reported_at >= recordings.reported_at`),
      )
      .returning(sql<boolean>`(xmax = 0)`.as('created'))
      .executeTakeFirst();
    return { created: row?.created === true, applied: row !== undefined };
  }

  /**
   * Marks segments of the camera as deleted by the device (idempotent: the first deletion's
   * time and reason are kept). Returns how many rows changed.
   */
  async markDeleted(
    orgId: string,
    cameraId: string,
    segmentIds: readonly string[],
    at: number,
    reason: string,
  ): Promise<number> {
    let changed = 0;
    for (let i = 0; i < segmentIds.length; i += 1000) {
      const chunk = segmentIds.slice(i, i + 1000);
      const result = await this.db
        .updateTable('recordings')
        .set({ deleted_at: at, deleted_reason: reason })
        .where('org_id', '=', orgId)
        .where('camera_id', '=', cameraId)
        .where('segment_id', 'in', chunk)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      changed += Number(result.numUpdatedRows);
    }
    return changed;
  }

  async get(orgId: string, cameraId: string, segmentId: string): Promise<RecordingRecord | undefined> {
    const row = await this.db
      .selectFrom('recordings')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('camera_id', '=', cameraId)
      .where('segment_id', '=', segmentId)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** The camera's segments overlapping [from, to), oldest first (by start, then id). */
  async listRange(orgId: string, cameraId: string, q: RecordingRangeQuery): Promise<RecordingRecord[]> {
    let query = this.db
      .selectFrom('recordings')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('camera_id', '=', cameraId)
      .where('started_at', '<', q.to)
      .where('started_at', '>', q.from - MAX_SEGMENT_MS)
      .where('ended_at', '>', q.from);
    if (!q.includeDeleted) query = query.where('deleted_at', 'is', null);
    const rows = await query
      .orderBy('started_at', 'asc')
      .orderBy('segment_id', 'asc')
      .limit(q.limit ?? 20_000)
      .execute();
    return rows.map(toRecord);
  }
}
