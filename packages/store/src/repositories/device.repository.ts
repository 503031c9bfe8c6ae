import type { DeviceStatusV1 } from '@iceberg/contracts';
import type { Kysely, Selectable } from 'kysely';
import { toJson } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { DevicesTable, Schema } from '../schema.ts';
import { rethrowWriteError } from '../sql-errors.ts';

export interface DeviceRecord {
  id: string;
  orgId: string;
  siteId: string | null;
  name: string;
  lastSeenAt: number | null;
  /** The latest heartbeat (`device-status.v1`), as received. */
  status: DeviceStatusV1 | null;
  createdAt: number;
}

export interface UpdateDevice {
  name?: string;
  siteId?: string | null;
}

export interface DeviceListFilter {
  siteId?: string;
}

const toRecord = (r: Selectable<DevicesTable>): DeviceRecord => ({
  id: r.id,
  orgId: r.org_id,
  siteId: r.site_id,
  name: r.name,
  lastSeenAt: r.last_seen_at,
  status: (r.status as DeviceStatusV1 | null) ?? null,
  createdAt: r.created_at,
});

const CURSOR = 'devices';

export class DeviceRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Creates the device on its first heartbeat (named after its id), then keeps its latest status.
   * An older heartbeat arriving late never replaces a newer one; the name and site are the user's.
   */
  async upsertFromHeartbeat(status: DeviceStatusV1): Promise<DeviceRecord> {
    try {
      const row = await this.db
        .insertInto('devices')
        .values({
          org_id: status.orgId,
          id: status.deviceId,
          site_id: null,
          name: status.deviceId,
          last_seen_at: status.at,
          status: toJson(status),
          created_at: status.at,
        })
        .onConflict((oc) =>
          oc.columns(['org_id', 'id']).doUpdateSet((eb) => ({
            last_seen_at: eb.fn('greatest', [
              eb.ref('devices.last_seen_at'),
              eb.ref('excluded.last_seen_at'),
            ]),
            status: eb
              .case()
              .when(
                eb.or([
                  eb('devices.last_seen_at', 'is', null),
                  eb('devices.last_seen_at', '<=', eb.ref('excluded.last_seen_at')),
                ]),
              )
              .then(eb.ref('excluded.status'))
              .else(eb.ref('devices.status'))
              .end(),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (err) {
      rethrowWriteError(err, `device ${status.deviceId} of organisation ${status.orgId}`);
    }
  }

  async update(orgId: string, id: string, patch: UpdateDevice): Promise<DeviceRecord | undefined> {
    const set: { name?: string; site_id?: string | null } = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.siteId !== undefined) set.site_id = patch.siteId;
    if (Object.keys(set).length === 0) return this.get(orgId, id);
    try {
      const row = await this.db
        .updateTable('devices')
        .set(set)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return row && toRecord(row);
    } catch (err) {
      rethrowWriteError(err, `device ${id}`);
    }
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('devices')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async get(orgId: string, id: string): Promise<DeviceRecord | undefined> {
    const row = await this.db
      .selectFrom('devices')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** By id. */
  async list(
    orgId: string,
    filter: DeviceListFilter = {},
    page: PageRequest = {},
  ): Promise<Page<DeviceRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db.selectFrom('devices').selectAll().where('org_id', '=', orgId);
    if (filter.siteId !== undefined) q = q.where('site_id', '=', filter.siteId);
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
}
