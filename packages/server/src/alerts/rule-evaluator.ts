import type { Bus } from '@iceberg/bus';
import type { Clock, Logger } from '@iceberg/common';
import { errorMessage } from '@iceberg/common';
import type { TrackEventV1 } from '@iceberg/contracts';
import {
  evaluateAll,
  parseRule,
  type Rule,
  type RuleInput,
  type RuleState,
  restoreState,
  ruleStateKey,
} from '@iceberg/rules';
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
  /** Changed rule states are saved at least this often (default 5 s); a rule that fires saves at once. */
  checkpointMs?: number;
  /** A camera's state not used for this long is saved and dropped from memory (default 30 s). */
  idleMs?: number;
}

const GROUP = 'iceberg-server-rules';

/** One camera's rule states in memory. */
interface CameraStates {
  orgId: string;
  cameraId: string;
  /** Keyed by `ruleStateKey(rule, camera)`, as `evaluateAll` wants them. */
  states: Map<string, RuleState>;
  dirty: boolean;
  usedAt: number;
  /** Saves run one after another, each writing the states as they are then. */
  saving: Promise<void>;
}

/**
 * Feeds every detection frame and track event to the enabled rules of its camera (the pure
 * engine) and raises the alerts they decide. A camera belongs to one consumer (the bus keys by
 * camera), so with several server instances each works on its own cameras' state.
 *
 * The state is also kept in the store, so that a restart, or another instance taking the camera
 * over, does not alert again for every object in view: it is loaded at a camera's first input,
 * saved right after a rule fires (after the alert is stored: a crash in between replays the input,
 * which decides the same alert, which the store's dedupe key absorbs), every `checkpointMs` when it
 * changed, when idle for `idleMs` (then dropped from memory, so a camera that moved to another
 * instance and back is read again) and at stop.
 */
export class RuleEvaluator {
  private readonly rules = new Map<string, { at: number; rules: Rule[] }>();
  private readonly cameras = new Map<string, CameraStates>();
  private readonly loading = new Map<string, Promise<CameraStates>>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** Best snapshot of each live track, from its track events, so an alert carries its picture at once. */
  private readonly snapshots = new Map<string, string>();
  private subscriptions: Array<{ close(): Promise<void> }> = [];

  constructor(private readonly o: RuleEvaluatorOptions) {}

  async start(): Promise<void> {
    this.checkpointTimer = setInterval(() => void this.checkpoint(), this.o.checkpointMs ?? 5000);
    this.checkpointTimer.unref();
    // One subscription to both topics, co-partitioned: a camera's frames and track events reach
    // the same instance, the only one that keeps (and saves) that camera's rule state.
    this.subscriptions.push(
      await this.o.bus.subscribeMany(
        {
          detections: (frame) => this.handle(frame.orgId, frame.cameraId, { kind: 'detections', frame }),
          tracks: (event) => this.handle(event.orgId, event.cameraId, { kind: 'track', event }),
        },
        { ...this.subscription(), coPartitioned: true },
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
    this.subscriptions = [];
    clearInterval(this.checkpointTimer);
    this.checkpointTimer = undefined;
    await this.checkpoint(true);
  }

  /**
   * Saves every changed camera state; drops from memory those idle for `idleMs` (all of them when
   * `everything`). A failed save keeps the state in memory and dirty, to be tried again.
   */
  async checkpoint(everything = false): Promise<void> {
    const idleMs = this.o.idleMs ?? 30_000;
    await Promise.all(
      [...this.cameras].map(async ([key, camera]) => {
        if (camera.dirty && !(await this.save(camera))) return;
        // Idle still, and nothing changed while it was being saved.
        const idle = everything || this.o.clock.now() - camera.usedAt >= idleMs;
        if (idle && !camera.dirty && this.cameras.get(key) === camera) this.cameras.delete(key);
      }),
    );
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
    let camera = await this.camera(orgId, cameraId);
    // Dropped from memory meanwhile (idle): take the one in memory now, or load it again.
    while (this.cameras.get(`${orgId}/${cameraId}`) !== camera) camera = await this.camera(orgId, cameraId);
    // No await from reading the states to writing them back: inputs of one camera on two topics
    // may be handled at once, and neither may lose the other's change.
    const now = this.o.clock.now();
    const before = camera.states;
    const { states, decisions } = evaluateAll(rules, input, before, now);
    camera.states = states;
    camera.usedAt = now;
    if (!camera.dirty) camera.dirty = [...states].some(([k, state]) => before.get(k) !== state);
    for (const decision of decisions) {
      const rule = rules.find((r) => r.id === decision.ruleId)!;
      const snapshot = this.snapshots.get(`${orgId}/${cameraId}/${decision.trackIds[0]}`) ?? null;
      await this.o.alerts.raise(decision, rule, snapshot);
    }
    // What fired is remembered before the input counts as handled.
    if (decisions.length > 0 && !(await this.save(camera)))
      throw new Error(`the rule state of camera ${cameraId} could not be saved`);
    if (input.kind === 'track' && input.event.type === 'TrackEnded')
      this.snapshots.delete(`${orgId}/${cameraId}/${input.event.trackId}`);
  }

  /** The camera's states: in memory, or loaded from the store (once, however many ask at once). */
  private async camera(orgId: string, cameraId: string): Promise<CameraStates> {
    const key = `${orgId}/${cameraId}`;
    const known = this.cameras.get(key);
    if (known) return known;
    let loading = this.loading.get(key);
    if (!loading) {
      loading = this.load(orgId, cameraId).finally(() => this.loading.delete(key));
      this.loading.set(key, loading);
    }
    return loading;
  }

  private async load(orgId: string, cameraId: string): Promise<CameraStates> {
    const states = new Map<string, RuleState>();
    for (const stored of await this.o.store.ruleStates.load(orgId, cameraId)) {
      const state = restoreState(stored.state);
      if (state) states.set(ruleStateKey(stored.ruleId, cameraId), state);
      else
        this.o.logger.warn(
          { rule: stored.ruleId, camera: cameraId },
          'stored rule state is not one this version reads; the rule starts afresh on this camera',
        );
    }
    const camera: CameraStates = {
      orgId,
      cameraId,
      states,
      dirty: false,
      usedAt: this.o.clock.now(),
      saving: Promise.resolve(),
    };
    this.cameras.set(`${orgId}/${cameraId}`, camera);
    return camera;
  }

  /** Writes the camera's states as they are when the write starts; false when it failed. */
  private save(camera: CameraStates): Promise<boolean> {
    const run = camera.saving.then(async () => {
      if (!camera.dirty) return true;
      camera.dirty = false;
      const prefix = `:${camera.cameraId}`;
      const list = [...camera.states].map(([key, state]) => ({
        ruleId: key.slice(0, key.length - prefix.length),
        state,
      }));
      try {
        await this.o.store.ruleStates.save(camera.orgId, camera.cameraId, list, this.o.clock.now());
        return true;
      } catch (err) {
        camera.dirty = true;
        this.o.logger.warn(
          { camera: camera.cameraId, err: errorMessage(err) },
          'cannot save rule state; kept in memory and tried again',
        );
        return false;
      }
    });
    camera.saving = run.then(() => undefined);
    return run;
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
