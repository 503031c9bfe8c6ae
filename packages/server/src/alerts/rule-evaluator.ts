import type { Bus } from '@iceberg/bus';
import type { Clock, Logger } from '@iceberg/common';
import type { TrackEventV1 } from '@iceberg/contracts';
import { evaluateAll, parseRule, type Rule, type RuleInput, type RuleState } from '@iceberg/rules';
import type { Store } from '@iceberg/store';
import type { AlertService } from './alert-service.ts';

export interface RuleEvaluatorOptions {
  bus: Bus;
  store: Store;
  alerts: AlertService;
  clock: Clock;
  logger: Logger;
  /** Rules are re-read from the store at most this often per organisation (default 2 s). */
  rulesTtlMs?: number;
  /** Consumer group (default `iceberg-server-rules`); a new group with `fromBeginning` replays what the bus holds. */
  group?: string;
  fromBeginning?: boolean;
}

const GROUP = 'iceberg-server-rules';

/**
 * Feeds every detection frame and track event to the enabled rules of its camera (the pure
 * engine) and raises the alerts they decide. Rule state lives per camera in memory; a camera
 * belongs to one consumer (the bus keys by camera), so with several server instances each owns
 * its cameras' state.
 */
export class RuleEvaluator {
  private readonly rules = new Map<string, { at: number; rules: Rule[] }>();
  private readonly states = new Map<string, Map<string, RuleState>>();
  /** Best snapshot of each live track, from its track events, so an alert carries its picture at once. */
  private readonly snapshots = new Map<string, string>();
  private subscriptions: Array<{ close(): Promise<void> }> = [];

  constructor(private readonly o: RuleEvaluatorOptions) {}

  async start(): Promise<void> {
    this.subscriptions.push(
      await this.o.bus.subscribe('detections', this.subscription(), (frame) =>
        this.handle(frame.orgId, frame.cameraId, { kind: 'detections', frame }),
      ),
      await this.o.bus.subscribe('tracks', this.subscription(), (event) =>
        this.handle(event.orgId, event.cameraId, { kind: 'track', event }),
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
    this.subscriptions = [];
  }

  private subscription() {
    // The store's consumers park malformed messages; this group only skips them.
    return {
      group: this.o.group ?? GROUP,
      fromBeginning: this.o.fromBeginning ?? false,
      deadLetterInvalid: false,
    };
  }

  /** Forget the cached rules of an organisation (after an edit through the API). */
  invalidate(orgId: string): void {
    this.rules.delete(orgId);
  }

  private async handle(orgId: string, cameraId: string, input: RuleInput): Promise<void> {
    if (input.kind === 'track') this.rememberSnapshot(input.event);
    const rules = (await this.rulesOf(orgId)).filter((r) => r.cameras.includes(cameraId));
    if (rules.length === 0) return;
    const key = `${orgId}/${cameraId}`;
    const { states, decisions } = evaluateAll(
      rules,
      input,
      this.states.get(key) ?? new Map(),
      this.o.clock.now(),
    );
    this.states.set(key, states);
    for (const decision of decisions) {
      const rule = rules.find((r) => r.id === decision.ruleId)!;
      const snapshot = this.snapshots.get(`${orgId}/${cameraId}/${decision.trackIds[0]}`) ?? null;
      await this.o.alerts.raise(decision, rule, snapshot);
    }
    if (input.kind === 'track' && input.event.type === 'TrackEnded')
      this.snapshots.delete(`${orgId}/${cameraId}/${input.event.trackId}`);
  }

  private rememberSnapshot(event: TrackEventV1): void {
    if (!event.snapshot || event.type === 'TrackEnded') return;
    const key = `${event.orgId}/${event.cameraId}/${event.trackId}`;
    this.snapshots.delete(key);
    this.snapshots.set(key, event.snapshot.ref);
    // Bounded: tracks whose end was never seen fall out oldest first.
    if (this.snapshots.size > 10_000) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  private async rulesOf(orgId: string): Promise<Rule[]> {
    const now = this.o.clock.now();
    const cached = this.rules.get(orgId);
    if (cached && now - cached.at < (this.o.rulesTtlMs ?? 2000)) return cached.rules;
    const rules: Rule[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await this.o.store.rules.list(orgId, { enabled: true }, { limit: 500, cursor });
      for (const record of page.items) {
        const parsed = parseRule(record.spec);
        if (parsed.ok) rules.push({ ...parsed.rule, id: record.id, orgId });
        else
          this.o.logger.warn(
            { rule: record.id, errors: parsed.errors.slice(0, 3) },
            'stored rule is not valid; skipped',
          );
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.rules.set(orgId, { at: now, rules });
    return rules;
  }
}
