import type { CameraProblemV1, CameraState, CameraStatusV1 } from '@iceberg/contracts';
import type { Kysely, Selectable } from 'kysely';
import { toJson, toJsonOrNull } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { CamerasTable, Schema } from '../schema.ts';
import { rethrowWriteError } from '../sql-errors.ts';

/**
 * A camera as the API shows it. The input (which may hold a user name and password) is left out:
 * read it with `getWithInput()` only where it is needed (configuring the edge device).
 */
export interface CameraRecord {
  id: string;
  orgId: string;
  deviceId: string;
  name: string;
  settings: Record<string, unknown>;
  state: CameraState;
  problem: CameraProblemV1 | null;
  /** When the state was reported (`at` of the camera-status message); null until the first one. */
  stateAt: number | null;
  /** Snapshot store reference of the newest picture. */
  latestSnapshot: string | null;
  latestSnapshotAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface CameraWithInput extends CameraRecord {
  input: string;
}

export interface CreateCamera {
  orgId: string;
  /** The camera id used on the bus (`cameraId`): unique within the organisation. */
  id: string;
  deviceId: string;
  name: string;
  input: string;
  settings?: Record<string, unknown>;
  createdAt?: number;
}

export interface UpdateCamera {
  deviceId?: string;
  name?: string;
  input?: string;
  settings?: Record<string, unknown>;
}

export interface CameraListFilter {
  deviceId?: string;
}

const toRecord = (r: Omit<Selectable<CamerasTable>, 'input'>): CameraRecord => ({
  id: r.id,
  orgId: r.org_id,
  deviceId: r.device_id,
  name: r.name,
  settings: r.settings,
  state: r.state,
  problem: (r.problem as CameraProblemV1 | null) ?? null,
  stateAt: r.state_at,
  latestSnapshot: r.latest_snapshot,
  latestSnapshotAt: r.latest_snapshot_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Every column but the secret input. */
const PUBLIC_COLUMNS = [
  'org_id',
  'id',
  'device_id',
  'name',
  'settings',
  'state',
  'problem',
  'state_at',
  'latest_snapshot',
  'latest_snapshot_at',
  'created_at',
  'updated_at',
] as const;

const CURSOR = 'cameras';

export class CameraRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async create(input: CreateCamera): Promise<CameraRecord> {
    const at = input.createdAt ?? Date.now();
    try {
      const row = await this.db
        .insertInto('cameras')
        .values({
          org_id: input.orgId,
          id: input.id,
          device_id: input.deviceId,
          name: input.name,
          input: input.input,
          settings: toJson(input.settings ?? {}),
          state: 'connecting',
          problem: null,
          state_at: null,
          latest_snapshot: null,
          latest_snapshot_at: null,
          created_at: at,
          updated_at: at,
        })
        .returning(PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (err) {
      rethrowWriteError(err, `camera ${input.id}`);
    }
  }

  /** Changes what the user configures; state and snapshot are left alone. */
  async update(
    orgId: string,
    id: string,
    patch: UpdateCamera,
    at: number = Date.now(),
  ): Promise<CameraRecord | undefined> {
    const set: { device_id?: string; name?: string; input?: string; settings?: string; updated_at: number } =
      {
        updated_at: at,
      };
    if (patch.deviceId !== undefined) set.device_id = patch.deviceId;
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.input !== undefined) set.input = patch.input;
    if (patch.settings !== undefined) set.settings = toJson(patch.settings);
    const row = await this.db
      .updateTable('cameras')
      .set(set)
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('cameras')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async get(orgId: string, id: string): Promise<CameraRecord | undefined> {
    const row = await this.db
      .selectFrom('cameras')
      .select(PUBLIC_COLUMNS)
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** The camera with its input (a secret: never put it in logs or API responses). */
  async getWithInput(orgId: string, id: string): Promise<CameraWithInput | undefined> {
    const row = await this.db
      .selectFrom('cameras')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { ...toRecord(row), input: row.input };
  }

  /** By id. */
  async list(
    orgId: string,
    filter: CameraListFilter = {},
    page: PageRequest = {},
  ): Promise<Page<CameraRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db.selectFrom('cameras').select(PUBLIC_COLUMNS).where('org_id', '=', orgId);
    if (filter.deviceId !== undefined) q = q.where('device_id', '=', filter.deviceId);
    if (page.cursor) {
      const [id] = decodeCursor(CURSOR, page.cursor, ['string']) as [string];
      q = q.where('id', '>', id);
    }
    const rows = await q
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toRecord, (r) => encodeCursor(CURSOR, [r.id]));
  }

  /**
   * Applies a `camera-status.v1` message to a registered camera, unless the camera already holds a
   * newer one (messages can arrive late or be replayed). True when the state was written.
   */
  async setState(status: CameraStatusV1): Promise<boolean> {
    const result = await this.db
      .updateTable('cameras')
      .set({ state: status.state, problem: toJsonOrNull(status.problem), state_at: status.at })
      .where('org_id', '=', status.orgId)
      .where('id', '=', status.cameraId)
      .where((eb) => eb.or([eb('state_at', 'is', null), eb('state_at', '<=', status.at)]))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Records the newest snapshot, unless a newer one is already recorded. True when written. */
  async setLatestSnapshot(orgId: string, id: string, ref: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('cameras')
      .set({ latest_snapshot: ref, latest_snapshot_at: at })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where((eb) => eb.or([eb('latest_snapshot_at', 'is', null), eb('latest_snapshot_at', '<=', at)]))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
