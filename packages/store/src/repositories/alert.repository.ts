import type { AlertReason, AlertStatus, AlertV1, Box, ObjectClass } from '@iceberg/contracts';
import type { Kysely, Selectable } from 'kysely';
import { toJson, toJsonOrNull } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { AlertsTable, Schema } from '../schema.ts';

/** An alert as stored: `alert.v1` without its schema tag, plus who last changed its status. */
export interface AlertRecord extends Omit<AlertV1, 'schema'> {
  statusAt: number;
  /** User id (or 'system') that set the current status; null while it is 'new'. */
  statusBy: string | null;
}

export type AlertInput = Omit<AlertV1, 'schema'> & { schema?: AlertV1['schema'] };

export interface AlertListFilter {
  status?: AlertStatus;
  cameraId?: string;
  ruleId?: string;
  /** Alerts whose `at` lies in [from, to] (either bound optional). */
  from?: number;
  to?: number;
}

export interface InsertAlertResult {
  /** False when an alert with the same dedupe key was already stored (a replay). */
  created: boolean;
  /** The stored alert: the new one, or the one already there. */
  alert: AlertRecord;
}

const toRecord = (r: Selectable<AlertsTable>): AlertRecord => ({
  id: r.id,
  orgId: r.org_id,
  ruleId: r.rule_id,
  ruleName: r.rule_name,
  deviceId: r.device_id,
  cameraId: r.camera_id,
  reason: r.reason as AlertReason,
  class: r.class as ObjectClass,
  trackIds: r.track_ids,
  score: r.score,
  box: (r.box as Box | null) ?? null,
  at: r.at,
  createdAt: r.created_at,
  status: r.status,
  snapshot: r.snapshot,
  message: r.message,
  dedupeKey: r.dedupe_key,
  statusAt: r.status_at,
  statusBy: r.status_by,
});

/** The wire form (`alert.v1`) of a stored alert. */
export function toAlertV1(alert: AlertRecord): AlertV1 {
  const { statusAt: _at, statusBy: _by, ...rest } = alert;
  return { schema: 'alert.v1', ...rest };
}

const CURSOR = 'alerts';

export class AlertRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Stores the alert unless one with the same (organisation, dedupe key) exists: replaying the
   * events that raised it can never create a second alert.
   */
  async insertIfNew(input: AlertInput): Promise<InsertAlertResult> {
    const row = await this.db
      .insertInto('alerts')
      .values({
        org_id: input.orgId,
        id: input.id,
        rule_id: input.ruleId,
        rule_name: input.ruleName,
        device_id: input.deviceId,
        camera_id: input.cameraId,
        reason: input.reason,
        class: input.class,
        track_ids: toJson(input.trackIds),
        score: input.score,
        box: toJsonOrNull(input.box),
        at: input.at,
        created_at: input.createdAt,
        status: input.status,
        status_at: input.createdAt,
        status_by: null,
        snapshot: input.snapshot,
        message: input.message,
        dedupe_key: input.dedupeKey,
      })
      .onConflict((oc) => oc.columns(['org_id', 'dedupe_key']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row) return { created: true, alert: toRecord(row) };
    const existing = await this.getByDedupeKey(input.orgId, input.dedupeKey);
    if (!existing) throw new Error(`alert ${input.dedupeKey} conflicted but cannot be read back`);
    return { created: false, alert: existing };
  }

  async get(orgId: string, id: string): Promise<AlertRecord | undefined> {
    const row = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  async getByDedupeKey(orgId: string, dedupeKey: string): Promise<AlertRecord | undefined> {
    const row = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('dedupe_key', '=', dedupeKey)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Newest first (by `at`). */
  async list(
    orgId: string,
    filter: AlertListFilter = {},
    page: PageRequest = {},
  ): Promise<Page<AlertRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db.selectFrom('alerts').selectAll().where('org_id', '=', orgId);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.cameraId !== undefined) q = q.where('camera_id', '=', filter.cameraId);
    if (filter.ruleId !== undefined) q = q.where('rule_id', '=', filter.ruleId);
    if (filter.from !== undefined) q = q.where('at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('at', '<=', filter.to);
    if (page.cursor) {
      const [at, id] = decodeCursor(CURSOR, page.cursor, ['number', 'string']) as [number, string];
      q = q.where((eb) => eb(eb.refTuple('at', 'id'), '<', eb.tuple(at, id)));
    }
    const rows = await q
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toRecord, (r) => encodeCursor(CURSOR, [r.at, r.id]));
  }

  /** Sets the status; returns the updated alert, or undefined when there is no such alert. */
  async setStatus(
    orgId: string,
    id: string,
    status: AlertStatus,
    by: string | null,
    at: number,
  ): Promise<AlertRecord | undefined> {
    const row = await this.db
      .updateTable('alerts')
      .set({ status, status_by: by, status_at: at })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /**
   * Sets the status only while it still is `expected` (one statement: `UPDATE … WHERE status =
   * expected`), so of two concurrent changes from the same status only one wins. Returns the
   * updated alert, or undefined when there is no such alert or its status is no longer `expected`.
   */
  async setStatusIf(
    orgId: string,
    id: string,
    expected: AlertStatus,
    next: AlertStatus,
    by: string | null,
    at: number,
  ): Promise<AlertRecord | undefined> {
    const row = await this.db
      .updateTable('alerts')
      .set({ status: next, status_by: by, status_at: at })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('status', '=', expected)
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }
}
