import type { Kysely } from 'kysely';
import { toJson } from '../json.ts';
import type { Schema } from '../schema.ts';
import { FOREIGN_KEY_VIOLATION, sqlState } from '../sql-errors.ts';

/** One rule's state on one camera, as the rules engine hands it over (plain JSON). */
export interface StoredRuleState {
  ruleId: string;
  state: unknown;
}

/**
 * The rules engine's memory per (organisation, camera, rule), kept so that a restarted server, or
 * the instance that takes a camera over, carries on where the last one stopped. The state is
 * opaque here: the rules package owns its shape and checks its version when it reads it back.
 */
export class RuleStateRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** Every rule's state on the camera (rules without one are absent). */
  async load(orgId: string, cameraId: string): Promise<StoredRuleState[]> {
    const rows = await this.db
      .selectFrom('rule_states')
      .select(['rule_id', 'state'])
      .where('org_id', '=', orgId)
      .where('camera_id', '=', cameraId)
      .orderBy('rule_id')
      .execute();
    return rows.map((r) => ({ ruleId: r.rule_id, state: r.state }));
  }

  /**
   * Writes the camera's rule states (insert or replace). A state of a rule deleted meanwhile is
   * dropped, not an error: the rule's other states went with it. Returns how many were written.
   */
  async save(orgId: string, cameraId: string, states: StoredRuleState[], now: number): Promise<number> {
    if (states.length === 0) return 0;
    const write = (list: StoredRuleState[]) =>
      this.db
        .insertInto('rule_states')
        .values(
          list.map((s) => ({
            org_id: orgId,
            rule_id: s.ruleId,
            camera_id: cameraId,
            state: toJson(s.state),
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['org_id', 'camera_id', 'rule_id']).doUpdateSet((eb) => ({
            state: eb.ref('excluded.state'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    try {
      await write(states);
      return states.length;
    } catch (err) {
      if (sqlState(err) !== FOREIGN_KEY_VIOLATION) throw err;
      const existing = await this.db
        .selectFrom('rules')
        .select('id')
        .where('org_id', '=', orgId)
        .where(
          'id',
          'in',
          states.map((s) => s.ruleId),
        )
        .execute();
      const kept = states.filter((s) => existing.some((r) => r.id === s.ruleId));
      if (kept.length > 0) await write(kept);
      return kept.length;
    }
  }
}
