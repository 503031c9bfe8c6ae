import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ActionDispatcher, ActionSpec } from '@iceberg/actions';
import type { Clock, Logger } from '@iceberg/common';
import type { AlertReason, AlertV1 } from '@iceberg/contracts';
import type { AlertDecision, Rule } from '@iceberg/rules';
import { type Store, toAlertV1 } from '@iceberg/store';
import { resolveDataPath } from '../data-path.ts';
import type { WsHub } from '../live/ws-hub.ts';
import type { Metrics } from '../metrics.ts';

const verbs: Record<AlertReason, string> = {
  enter: 'entered',
  inside: 'is in',
  leave: 'left',
  cross: 'crossed',
  dwell: 'is loitering in',
  count: 'gathered in',
};

export interface AlertServiceOptions {
  store: Store;
  hub: WsHub;
  metrics: Metrics;
  dispatcher: ActionDispatcher;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  publicUrl?: string | undefined;
  /** Asks the camera's device to keep the alert's footage longer (recordings/footage-protector.ts). */
  footage?: { protect(alert: AlertV1): void };
}

/**
 * Turns a rule's decision into an alert: stored once per dedupe key (a replay finds the stored
 * alert and does nothing more), pushed to the organisation's live clients, and handed to the
 * rule's actions with its snapshot.
 */
export class AlertService {
  constructor(private readonly o: AlertServiceOptions) {}

  /** `snapshot`: the track's best picture when the caller knows it; otherwise the stored track's. */
  async raise(
    decision: AlertDecision,
    rule: Rule,
    snapshot: string | null = null,
  ): Promise<{ created: boolean; alert: AlertV1 }> {
    const { store } = this.o;
    const track = snapshot
      ? null
      : await store.tracks.get(decision.orgId, decision.cameraId, decision.trackIds[0]!);
    const who =
      decision.reason === 'count' ? `${decision.trackIds.length} × ${decision.class}` : decision.class;
    const alert: AlertV1 = {
      schema: 'alert.v1',
      id: randomUUID(),
      orgId: decision.orgId,
      ruleId: rule.id,
      ruleName: rule.name,
      deviceId: decision.deviceId,
      cameraId: decision.cameraId,
      reason: decision.reason,
      class: decision.class,
      trackIds: decision.trackIds,
      score: decision.score,
      box: decision.box,
      at: decision.at,
      createdAt: this.o.clock.now(),
      status: 'new',
      snapshot: snapshot ?? track?.snapshot?.ref ?? null,
      message: `${who} ${verbs[decision.reason]} ${rule.name} on ${decision.cameraId}`.slice(0, 500),
      dedupeKey: decision.dedupeKey,
    };
    const result = await store.alerts.insertIfNew(alert);
    if (!result.created) return { created: false, alert: toAlertV1(result.alert) };
    this.o.metrics.alertsRaised.inc({ reason: alert.reason });
    this.o.hub.publish(alert.orgId, 'alert', alert);
    this.o.footage?.protect(alert);
    this.o.metrics.alertLatency.observe(Math.max(0, this.o.clock.now() - alert.at) / 1000);
    const actions = (rule.actions ?? []) as ActionSpec[];
    if (actions.length > 0) void this.deliver(alert, actions);
    return { created: true, alert };
  }

  private async deliver(alert: AlertV1, actions: ActionSpec[]): Promise<void> {
    let snapshot: { jpeg: Buffer; filename: string } | null = null;
    if (alert.snapshot) {
      const path = resolveDataPath(this.o.dataDir, alert.snapshot);
      if (path)
        snapshot = await readFile(path).then(
          (jpeg) => ({ jpeg, filename: `${alert.cameraId}.jpg` }),
          () => null,
        );
    }
    const alertUrl = this.o.publicUrl
      ? `${this.o.publicUrl.replace(/\/$/, '')}/alerts/${alert.id}`
      : undefined;
    const results = await this.o.dispatcher.dispatch(alert, actions, {
      snapshot,
      ...(alertUrl ? { alertUrl } : {}),
    });
    for (const r of results) this.o.metrics.actionDeliveries.inc({ type: r.type, ok: String(r.ok) });
  }
}
