import { type Clock, IcebergError } from '@iceberg/common';
import type { AlertStatus, AlertV1 } from '@iceberg/contracts';
import type { AlertListFilter, AlertRecord, Page, PageRequest, Store } from '@iceberg/store';
import type { WsHub } from '../live/ws-hub.ts';
import type { SnapshotFile, SnapshotFiles } from '../snapshot-files.ts';

/**
 * An alert as the API shows it: `alert.v1` without its schema tag and without the snapshot's
 * storage reference (an internal path), plus who set the status and when, and a URL for the
 * picture.
 */
export interface AlertView extends Omit<AlertV1, 'schema' | 'snapshot'> {
  statusAt: number;
  /** User id (or 'system') that set the current status; null while it is 'new'. */
  statusBy: string | null;
  /** Where to GET the snapshot (authenticated), or null when the alert has none. */
  snapshotUrl: string | null;
}

export type AlertFilter = AlertListFilter;

export function alertSnapshotUrl(id: string): string {
  return `/api/alerts/${encodeURIComponent(id)}/snapshot`;
}

export function toAlertView(a: AlertRecord): AlertView {
  const { snapshot, ...rest } = a;
  return { ...rest, snapshotUrl: snapshot ? alertSnapshotUrl(a.id) : null };
}

/**
 * What asking for `to` does to an alert in status `from`: the life of an alert only moves
 * forward (new → acknowledged → resolved, or new → resolved straight away). Asking for the
 * status it already has changes nothing; going back (to new, or from resolved to acknowledged)
 * is refused.
 */
export function alertTransition(from: AlertStatus, to: AlertStatus): 'apply' | 'unchanged' | 'refused' {
  if (from === to) return 'unchanged';
  const rank: Record<AlertStatus, number> = { new: 0, acknowledged: 1, resolved: 2 };
  return rank[to] > rank[from] ? 'apply' : 'refused';
}

export interface AlertReviewDeps {
  store: Pick<Store, 'alerts'>;
  hub: Pick<WsHub, 'publish'>;
  clock: Pick<Clock, 'now'>;
  snapshots: Pick<SnapshotFiles, 'read'>;
}

/**
 * The operator's side of alerts: list, look, acknowledge, resolve, see the picture. Every method
 * takes the caller's organisation; another organisation's alerts are not found.
 */
export class AlertReviewService {
  constructor(private readonly deps: AlertReviewDeps) {}

  /** Newest first (by `at`), filtered and paginated. */
  async list(orgId: string, filter: AlertFilter, page: PageRequest): Promise<Page<AlertView>> {
    const result = await this.deps.store.alerts.list(orgId, filter, page);
    return { items: result.items.map(toAlertView), nextCursor: result.nextCursor };
  }

  async get(orgId: string, id: string): Promise<AlertView> {
    return toAlertView(await this.alert(orgId, id));
  }

  /**
   * Moves the alert to `status` on behalf of `userId` and pushes the updated alert to the
   * organisation's live clients ('alert-updated'). Asking for the current status returns the
   * alert unchanged (and pushes nothing); going backwards is a conflict (409).
   *
   * The write is conditional on the status read (`setStatusIf`): when another request changed it
   * in between, the alert is read again and the same rules apply to its new status, so two
   * concurrent requests can never both move the alert from the same status.
   */
  async setStatus(
    caller: { orgId: string; userId: string },
    id: string,
    status: AlertStatus,
  ): Promise<AlertView> {
    // Each retry follows a change made by another request; statuses only move forward, so at
    // most two changes can happen before the transition is 'unchanged' or 'refused'.
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.alert(caller.orgId, id);
      const transition = alertTransition(current.status, status);
      switch (transition) {
        case 'unchanged':
          return toAlertView(current);
        case 'refused':
          throw new IcebergError(
            'ICEBERG_ERR_CONFLICT',
            `alert ${id} is ${current.status}: it cannot go back to ${status}`,
            { details: { status: current.status, requested: status } },
          );
        case 'apply': {
          const updated = await this.deps.store.alerts.setStatusIf(
            caller.orgId,
            id,
            current.status,
            status,
            caller.userId,
            this.deps.clock.now(),
          );
          if (!updated) continue; // changed (or deleted) meanwhile: read it again
          const view = toAlertView(updated);
          this.deps.hub.publish(caller.orgId, 'alert-updated', view);
          return view;
        }
        default: {
          const never: never = transition;
          throw new Error(`unknown transition ${String(never)}`);
        }
      }
    }
    throw new IcebergError('ICEBERG_ERR_CONFLICT', `alert ${id} kept changing: try again`);
  }

  /** The snapshot of the alert. */
  async snapshot(orgId: string, id: string): Promise<SnapshotFile> {
    const alert = await this.alert(orgId, id);
    if (!alert.snapshot) throw new IcebergError('ICEBERG_ERR_NOT_FOUND', `alert ${id} has no snapshot`);
    const file = await this.deps.snapshots.read(alert.snapshot, orgId);
    if (!file)
      throw new IcebergError(
        'ICEBERG_ERR_NOT_FOUND',
        `the snapshot file of alert ${id} is missing (it may have been removed by retention)`,
      );
    return file;
  }

  private async alert(orgId: string, id: string): Promise<AlertRecord> {
    const alert = await this.deps.store.alerts.get(orgId, id);
    if (!alert) throw notFound(id);
    return alert;
  }
}

function notFound(id: string): IcebergError {
  return new IcebergError('ICEBERG_ERR_NOT_FOUND', `no alert ${id} in this organisation`);
}
