import type { Clock } from '@iceberg/common';
import type { DeviceStatusV1 } from '@iceberg/contracts';
import { Gauge, type Registry } from 'prom-client';

type Outbox = NonNullable<DeviceStatusV1['outbox']>;

export interface OutboxBacklogTotals {
  /** Devices with an outbox heard from within the staleness window. */
  devices: number;
  /** Of those, the ones with messages not yet delivered. */
  backlogged: number;
  pendingMessages: number;
  pendingBytes: number;
  /** Age of the oldest message still waiting on any device (0 when none waits). */
  oldestPendingSeconds: number;
  /** Messages the devices shed at their disk quota, since each of them started. */
  shed: number;
}

const GAUGES: Array<[name: string, help: string, value: (t: OutboxBacklogTotals) => number]> = [
  [
    'iceberg_devices_outbox_backlogged',
    'Devices whose outbox holds messages Kafka has not yet acknowledged (heard from in the last minute)',
    (t) => t.backlogged,
  ],
  [
    'iceberg_devices_outbox_pending_messages',
    'Messages waiting in the devices’ outboxes, summed over devices',
    (t) => t.pendingMessages,
  ],
  [
    'iceberg_devices_outbox_pending_bytes',
    'Bytes waiting in the devices’ outboxes, summed over devices',
    (t) => t.pendingBytes,
  ],
  [
    'iceberg_devices_outbox_oldest_pending_seconds',
    'Age of the oldest message still waiting in any device’s outbox (0 when none waits)',
    (t) => t.oldestPendingSeconds,
  ],
  [
    'iceberg_devices_outbox_shed_messages',
    'Messages shed at the devices’ disk quotas (raw detections first), since each device started',
    (t) => t.shed,
  ],
];

/**
 * The devices' store-and-forward backlog, from their heartbeats, as server-wide Prometheus
 * gauges. `/metrics` carries no tenant ids, so the devices are added up; each device's own
 * backlog is in its status in `GET /api/devices`. A device not heard from for `staleMs` drops
 * out: it is offline (what it holds is unknown until it reports again) or another server
 * instance now reads its heartbeats, and reports it there.
 */
export class OutboxBacklog {
  private readonly devices = new Map<string, { outbox: Outbox; heardAt: number }>();

  constructor(
    registry: Registry,
    private readonly clock: Clock,
    private readonly staleMs = 60_000,
  ) {
    const backlog = this;
    for (const [name, help, value] of GAUGES)
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value(backlog.totals()));
        },
      });
  }

  /** Takes a device's heartbeat; one without an outbox (no Kafka) is not counted. */
  record(status: DeviceStatusV1): void {
    const key = `${status.orgId}/${status.deviceId}`;
    if (!status.outbox) {
      this.devices.delete(key);
      return;
    }
    this.devices.set(key, { outbox: status.outbox, heardAt: this.clock.now() });
  }

  totals(): OutboxBacklogTotals {
    const now = this.clock.now();
    const t: OutboxBacklogTotals = {
      devices: 0,
      backlogged: 0,
      pendingMessages: 0,
      pendingBytes: 0,
      oldestPendingSeconds: 0,
      shed: 0,
    };
    for (const [key, { outbox, heardAt }] of this.devices) {
      if (now - heardAt > this.staleMs) {
        this.devices.delete(key);
        continue;
      }
      t.devices++;
      if (outbox.pendingMessages > 0) t.backlogged++;
      t.pendingMessages += outbox.pendingMessages;
      t.pendingBytes += outbox.pendingBytes;
      t.shed += outbox.shed;
      if (outbox.pendingMessages > 0 && outbox.oldestPendingAt !== null)
        t.oldestPendingSeconds = Math.max(
          t.oldestPendingSeconds,
          Math.max(0, now - outbox.oldestPendingAt) / 1000,
        );
    }
    return t;
  }
}
