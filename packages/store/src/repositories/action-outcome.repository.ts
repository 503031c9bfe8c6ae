import type { Kysely, Selectable } from 'kysely';
import { newId } from '../json.ts';
import type { ActionOutcomesTable, Schema } from '../schema.ts';

/** The action an outcome belongs to: its type ('webhook', 'email', …) and target (URL, addresses). */
export interface ActionRef {
  type: string;
  target: string;
}

/**
 * `webhook https://example.com/hook` (the action dispatcher's description of an action) →
 * `{ type: 'webhook', target: 'https://example.com/hook' }`.
 */
export function parseActionRef(description: string): ActionRef {
  const space = description.indexOf(' ');
  return space < 0
    ? { type: description, target: '' }
    : { type: description.slice(0, space), target: description.slice(space + 1) };
}

/** One attempt at running one action for one alert. */
export interface ActionOutcomeRecord {
  id: string;
  orgId: string;
  alertId: string;
  action: ActionRef;
  /** 1 for the first try, 2 for the first retry… */
  attempt: number;
  ok: boolean;
  /** HTTP status (webhooks) or SMTP reply code, when there was one. */
  statusCode: number | null;
  error: string | null;
  /** 'delivered' | 'retrying' | 'failed' | 'abandoned' (the dispatcher's verdict), when known. */
  outcome: string | null;
  durationMs: number | null;
  nextAttemptAt: number | null;
  /** When the attempt started. */
  at: number;
}

/**
 * What `record` takes. Shaped so that the action dispatcher's `RecordedAttempt` (with `action` as
 * its description string) can be passed as it is.
 */
export interface RecordActionOutcome {
  orgId: string;
  alertId: string;
  /** `{ type, target }`, or the dispatcher's description `"<type> <target>"`. */
  action: ActionRef | string;
  attempt: number;
  ok: boolean;
  statusCode?: number | null;
  error?: string | null;
  outcome?: string | null;
  durationMs?: number | null;
  nextAttemptAt?: number | null;
  at: number;
  /** Give an id to make recording idempotent (a second record with it is ignored); default: random. */
  id?: string;
}

const toRecord = (r: Selectable<ActionOutcomesTable>): ActionOutcomeRecord => ({
  id: r.id,
  orgId: r.org_id,
  alertId: r.alert_id,
  action: { type: r.action_type, target: r.action_target },
  attempt: r.attempt,
  ok: r.ok,
  statusCode: r.status_code,
  error: r.error,
  outcome: r.outcome,
  durationMs: r.duration_ms,
  nextAttemptAt: r.next_attempt_at,
  at: r.at,
});

export class ActionOutcomeRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * Records an attempt. Every call without an id adds a row (after a restart the dispatcher may
   * start again at attempt 1: both runs are kept). With an id, recording it again keeps the first
   * row and returns it with `created: false`.
   */
  async record(input: RecordActionOutcome): Promise<{ created: boolean; outcome: ActionOutcomeRecord }> {
    const id = input.id ?? newId();
    const action = typeof input.action === 'string' ? parseActionRef(input.action) : input.action;
    const row = await this.db
      .insertInto('action_outcomes')
      .values({
        org_id: input.orgId,
        id,
        alert_id: input.alertId,
        action_type: action.type,
        action_target: action.target,
        attempt: input.attempt,
        ok: input.ok,
        status_code: input.statusCode ?? null,
        error: input.error ?? null,
        outcome: input.outcome ?? null,
        duration_ms: input.durationMs ?? null,
        next_attempt_at: input.nextAttemptAt ?? null,
        at: input.at,
      })
      .onConflict((oc) => oc.columns(['org_id', 'id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row) return { created: true, outcome: toRecord(row) };
    const existing = await this.db
      .selectFrom('action_outcomes')
      .selectAll()
      .where('org_id', '=', input.orgId)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return { created: false, outcome: toRecord(existing) };
  }

  /** Every attempt for one alert, in the order they were made (at most 500). */
  async listForAlert(orgId: string, alertId: string): Promise<ActionOutcomeRecord[]> {
    const rows = await this.db
      .selectFrom('action_outcomes')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('alert_id', '=', alertId)
      .orderBy('at')
      .orderBy('attempt')
      .orderBy('id')
      .limit(500)
      .execute();
    return rows.map(toRecord);
  }
}
