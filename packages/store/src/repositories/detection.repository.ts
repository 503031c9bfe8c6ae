import type { DetectedObjectV1, DetectionFrameV1 } from '@iceberg/contracts';
import type { Insertable, Kysely, Selectable } from 'kysely';
import { toJson } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { DetectionsTable, Schema } from '../schema.ts';

/** What is stored of an analysed frame (the consumer decides which frames to keep). */
export type DetectionInput = Pick<
  DetectionFrameV1,
  'orgId' | 'deviceId' | 'cameraId' | 'seq' | 'capturedAt' | 'objects'
>;

export interface DetectionRecord {
  orgId: string;
  cameraId: string;
  deviceId: string;
  capturedAt: number;
  seq: number;
  objects: DetectedObjectV1[];
}

export interface DetectionListFilter {
  from?: number;
  to?: number;
}

/** Rows per INSERT statement: the measured sweet spot on PGlite (DESIGN.md, Storage). */
export const DETECTION_BATCH_SIZE = 500;

const toRecord = (r: Selectable<DetectionsTable>): DetectionRecord => ({
  orgId: r.org_id,
  cameraId: r.camera_id,
  deviceId: r.device_id,
  capturedAt: r.captured_at,
  seq: r.seq,
  objects: r.objects as DetectedObjectV1[],
});

const toRow = (d: DetectionInput): Insertable<DetectionsTable> => ({
  org_id: d.orgId,
  camera_id: d.cameraId,
  captured_at: d.capturedAt,
  seq: d.seq,
  device_id: d.deviceId,
  objects: toJson(d.objects),
});

const CURSOR = 'detections';

export class DetectionRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Inserts frames in multi-row statements of 500, all in one transaction. A frame already stored
   * (same organisation, camera, capture time and sequence number) is skipped, so replays add
   * nothing. Returns how many rows were inserted.
   */
  async insertMany(frames: readonly DetectionInput[]): Promise<number> {
    if (frames.length === 0) return 0;
    const run = async (db: Kysely<Schema>) => {
      let inserted = 0;
      for (let i = 0; i < frames.length; i += DETECTION_BATCH_SIZE) {
        const result = await db
          .insertInto('detections')
          .values(frames.slice(i, i + DETECTION_BATCH_SIZE).map(toRow))
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
        inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
      }
      return inserted;
    };
    if (frames.length <= DETECTION_BATCH_SIZE || this.db.isTransaction) return run(this.db);
    return this.db.transaction().execute(run);
  }

  /** One camera's frames, newest first. */
  async listForCamera(
    orgId: string,
    cameraId: string,
    filter: DetectionListFilter = {},
    page: PageRequest = {},
  ): Promise<Page<DetectionRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db
      .selectFrom('detections')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('camera_id', '=', cameraId);
    if (filter.from !== undefined) q = q.where('captured_at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('captured_at', '<=', filter.to);
    if (page.cursor) {
      const [at, seq] = decodeCursor(CURSOR, page.cursor, ['number', 'number']) as [number, number];
      q = q.where((eb) => eb(eb.refTuple('captured_at', 'seq'), '<', eb.tuple(at, seq)));
    }
    const rows = await q
      .orderBy('captured_at', 'desc')
      .orderBy('seq', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toRecord, (r) => encodeCursor(CURSOR, [r.captured_at, r.seq]));
  }

  async count(orgId: string, cameraId?: string): Promise<number> {
    let q = this.db
      .selectFrom('detections')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId);
    if (cameraId !== undefined) q = q.where('camera_id', '=', cameraId);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Retention: deletes frames captured before `before` (of one organisation, or of all). */
  async purgeOlderThan(before: number, orgId?: string): Promise<number> {
    let q = this.db.deleteFrom('detections').where('captured_at', '<', before);
    if (orgId !== undefined) q = q.where('org_id', '=', orgId);
    const result = await q.executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
