import type { Kysely, Selectable } from 'kysely';
import { newId } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { Schema, SitesTable } from '../schema.ts';
import { rethrowWriteError } from '../sql-errors.ts';

export interface SiteRecord {
  id: string;
  orgId: string;
  name: string;
  /** IANA time zone ("Europe/London"), for schedules and for showing local times. */
  timeZone: string;
  createdAt: number;
}

export interface CreateSite {
  orgId: string;
  /** Defaults to a random UUID. */
  id?: string;
  name: string;
  /** Default 'UTC'. */
  timeZone?: string;
  createdAt?: number;
}

export interface UpdateSite {
  name?: string;
  timeZone?: string;
}

const toRecord = (r: Selectable<SitesTable>): SiteRecord => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  timeZone: r.time_zone,
  createdAt: r.created_at,
});

const CURSOR = 'sites';

export class SiteRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async create(input: CreateSite): Promise<SiteRecord> {
    const id = input.id ?? newId();
    try {
      const row = await this.db
        .insertInto('sites')
        .values({
          org_id: input.orgId,
          id,
          name: input.name,
          time_zone: input.timeZone ?? 'UTC',
          created_at: input.createdAt ?? Date.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (err) {
      rethrowWriteError(err, `site ${id}`);
    }
  }

  async update(orgId: string, id: string, patch: UpdateSite): Promise<SiteRecord | undefined> {
    const set: { name?: string; time_zone?: string } = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.timeZone !== undefined) set.time_zone = patch.timeZone;
    if (Object.keys(set).length === 0) return this.get(orgId, id);
    const row = await this.db
      .updateTable('sites')
      .set(set)
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Devices of the site stay, without a site. */
  async delete(orgId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('sites')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async get(orgId: string, id: string): Promise<SiteRecord | undefined> {
    const row = await this.db
      .selectFrom('sites')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Oldest first. */
  async list(orgId: string, page: PageRequest = {}): Promise<Page<SiteRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db.selectFrom('sites').selectAll().where('org_id', '=', orgId);
    if (page.cursor) {
      const [at, id] = decodeCursor(CURSOR, page.cursor, ['number', 'string']) as [number, string];
      q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(at, id)));
    }
    const rows = await q
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toRecord, (r) => encodeCursor(CURSOR, [r.created_at, r.id]));
  }
}
