import { randomUUID } from 'node:crypto';
import type { Bus } from '@iceberg/bus';
import type { Logger } from '@iceberg/common';
import type { AlertReason, AlertV1, ObjectClass, RecordingEventV1 } from '@iceberg/contracts';
import type { Store } from '@iceberg/store';
import type { WsHub } from '../live/ws-hub.ts';
import type { Metrics } from '../metrics.ts';

export interface RecordingIngestOptions {
  bus: Bus;
  store: Store;
  hub: WsHub;
  metrics: Metrics;
  logger: Logger;
  clock: { now(): number };
}

const GROUP = 'iceberg-server-recordings';

/** The reserved rule of the alert raised when a device stops recording because its disk is full. */
export const DISK_FULL_RULE = { id: 'system:disk-full', name: 'Recording paused: disk full' } as const;

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

/**
 * Consumer of `recordings` (recording.v1): keeps the server's segment index in step with the
 * devices' disks. SegmentRecorded is an idempotent upsert; SegmentsDeleted marks the segments
 * deleted (a later replay cannot bring them back); a recorder paused because its disk is full
 * raises one alert per pause (system rule `system:disk-full`), visible in the alerts inbox and
 * pushed to live clients. A handler that throws is retried by the bus, then dead-lettered.
 */
export class RecordingIngest {
  private subscription: { close(): Promise<void> } | null = null;

  constructor(private readonly o: RecordingIngestOptions) {}

  async start(): Promise<void> {
    this.subscription = await this.o.bus.subscribe(
      'recordings',
      { group: GROUP, fromBeginning: true },
      (event) => this.handle(event),
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = null;
  }

  async handle(event: RecordingEventV1): Promise<void> {
    const { store, logger } = this.o;
    if (!(await store.organisations.get(event.orgId))) {
      logger.warn({ org: event.orgId, camera: event.cameraId }, 'recording event of an unknown organisation');
      return;
    }
    switch (event.type) {
      case 'SegmentRecorded': {
        const s = event.segment;
        if (s.endedAt <= s.startedAt) {
          logger.warn(
            { camera: event.cameraId, segment: s.segmentId },
            'segment ends before it starts: ignored',
          );
          break;
        }
        await this.registerCamera(event);
        await store.recordings.upsert({
          orgId: event.orgId,
          cameraId: event.cameraId,
          deviceId: event.deviceId,
          at: event.at,
          segment: s,
        });
        break;
      }
      case 'SegmentsDeleted':
        await store.recordings.markDeleted(
          event.orgId,
          event.cameraId,
          event.segmentIds,
          event.at,
          event.reason,
        );
        break;
      case 'RecordingStateChanged':
        if (event.state === 'paused' && event.reason === 'disk_full') await this.raiseDiskFull(event);
        break;
      default: {
        const never: never = event;
        throw new Error(`unknown recording event ${(never as { type: string }).type}`);
      }
    }
    this.o.metrics.messagesConsumed.inc({ topic: 'recordings' });
  }

  /** A camera the server does not know yet is registered, as for camera status. */
  private async registerCamera(event: RecordingEventV1): Promise<void> {
    const { store } = this.o;
    if (await store.cameras.get(event.orgId, event.cameraId)) return;
    await store.cameras
      .create({
        orgId: event.orgId,
        id: event.cameraId,
        deviceId: event.deviceId,
        name: event.cameraId,
        input: '',
      })
      .catch(async (err: unknown) => {
        // registered meanwhile by the status consumer: fine
        if (!(await store.cameras.get(event.orgId, event.cameraId))) throw err;
      });
  }

  private async raiseDiskFull(
    event: Extract<RecordingEventV1, { type: 'RecordingStateChanged' }>,
  ): Promise<void> {
    const free = event.freeBytes !== undefined ? ` (${gb(event.freeBytes)} free)` : '';
    // A system alert has no object class, track or rule of the user's: the API's alert shape
    // carries them as plain strings, so the reserved values below are stored as they are.
    const alert: Omit<AlertV1, 'schema'> = {
      id: randomUUID(),
      orgId: event.orgId,
      ruleId: DISK_FULL_RULE.id,
      ruleName: DISK_FULL_RULE.name,
      deviceId: event.deviceId,
      cameraId: event.cameraId,
      reason: 'disk_full' as AlertReason,
      class: 'none' as ObjectClass,
      trackIds: [],
      score: 1,
      box: null,
      at: event.at,
      createdAt: this.o.clock.now(),
      status: 'new',
      snapshot: null,
      message:
        `Recording paused on ${event.cameraId}: the disk of device ${event.deviceId} is almost full${free}. ` +
        'Free some space or lower the retention; recording resumes by itself.',
      dedupeKey: `${DISK_FULL_RULE.id}:${event.cameraId}:${event.eventId}`,
    };
    const result = await this.o.store.alerts.insertIfNew(alert);
    if (!result.created) return;
    this.o.logger.warn(
      { camera: event.cameraId, device: event.deviceId, freeBytes: event.freeBytes },
      'recording paused: disk full',
    );
    this.o.metrics.alertsRaised.inc({ reason: 'disk_full' });
    this.o.hub.publish(event.orgId, 'alert', { schema: 'alert.v1', ...alert });
  }
}
