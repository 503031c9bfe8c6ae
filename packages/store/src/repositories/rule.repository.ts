import { type Kysely, type Selectable, sql } from 'kysely';
import { newId, toJson, toJsonOrNull } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { RulesTable, Schema } from '../schema.ts';
import { rethrowWriteError } from '../sql-errors.ts';

/** A rule as stored; `spec` is validated by the rules package, this layer keeps it as JSON. */
export interface RuleRecord {
  id: string;
  orgId: string;
  name: string;
  enabled: boolean;
  /** The cameras the rule watches; null: every camera of the organisation. */
  cameraIds: string[] | null;
  spec: unknown;
  createdAt: number;
  updatedAt: number;
}

export interface CreateRule {
  orgId: string;
  /** Defaults to a random UUID. */
  id?: string;
  name: string;
  /** Default true. */
  enabled?: boolean;
  /** Copied out of the spec by the caller, so that `listEnabledForCamera` can filter in SQL. */
  cameraIds?: string[] | null;
  spec: unknown;
  createdAt?: number;
}

export interface UpdateRule {
  name?: string;
  enabled?: boolean;
  cameraIds?: string[] | null;
  spec?: unknown;
}

export interface RuleListFilter {
  enabled?: boolean;
}

const toRecord = (r: Selectable<RulesTable>): RuleRecord => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  enabled: r.enabled,
  cameraIds: r.camera_ids ?? null,
  spec: r.spec,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const CURSOR = 'rules';

export class RuleRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async create(input: CreateRule): Promise<RuleRecord> {
    const id = input.id ?? newId();
    const at = input.createdAt ?? Date.now();
    try {
      const row = await this.db
        .insertInto('rules')
        .values({
          org_id: input.orgId,
          id,
          name: input.name,
          enabled: input.enabled ?? true,
          camera_ids: toJsonOrNull(input.cameraIds ?? null),
          spec: toJson(input.spec),
          created_at: at,
          updated_at: at,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (err) {
      rethrowWriteError(err, `rule ${id}`);
    }
  }

  async update(
    orgId: string,
    id: string,
    patch: UpdateRule,
    at: number = Date.now(),
  ): Promise<RuleRecord | undefined> {
    const set: {
      name?: string;
      enabled?: boolean;
      camera_ids?: string | null;
      spec?: string;
      updated_at: number;
    } = { updated_at: at };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.enabled !== undefined) set.enabled = patch.enabled;
    if (patch.cameraIds !== undefined) set.camera_ids = toJsonOrNull(patch.cameraIds);
    if (patch.spec !== undefined) set.spec = toJson(patch.spec);
    const row = await this.db
      .updateTable('rules')
      .set(set)
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('rules')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async get(orgId: string, id: string): Promise<RuleRecord | undefined> {
    const row = await this.db
      .selectFrom('rules')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Oldest first. */
  async list(orgId: string, filter: RuleListFilter = {}, page: PageRequest = {}): Promise<Page<RuleRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db.selectFrom('rules').selectAll().where('org_id', '=', orgId);
    if (filter.enabled !== undefined) q = q.where('enabled', '=', filter.enabled);
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

  /** The enabled rules that watch `cameraId` (naming it, or watching every camera), oldest first. */
  async listEnabledForCamera(orgId: string, cameraId: string): Promise<RuleRecord[]> {
    const rows = await this.db
      .selectFrom('rules')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('enabled', '=', true)
      .where((eb) =>
        eb.or([
          eb('camera_ids', 'is', null),
          sql<boolean>`${eb.ref('camera_ids')} @> jsonb_build_array(${cameraId}::text)`,
        ]),
      )
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }
}
