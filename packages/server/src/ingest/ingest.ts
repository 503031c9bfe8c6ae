import type { Bus } from '@iceberg/bus';
import type { Logger } from '@iceberg/common';
import type { DetectionFrameV1 } from '@iceberg/contracts';
import type { Store } from '@iceberg/store';
import type { WsHub } from '../live/ws-hub.ts';
import type { Metrics } from '../metrics.ts';

export interface IngestOptions {
  bus: Bus;
  store: Store;
  hub: WsHub;
  metrics: Metrics;
  logger: Logger;
  /** Store at most one detection frame per camera this often (0: every frame). */
  detectionSampleSeconds: number;
  /** Flush buffered detection rows at least this often. */
  flushIntervalMs?: number;
}

const GROUP = 'iceberg-server-store';

/**
 * The server's consumers that keep the store and the live clients up to date: track events,
 * detections (sampled, written in batches), camera status, device heartbeats, dead letters.
 * A handler that throws makes the bus retry and then dead-letter the message; nothing is lost
 * silently.
 */
export class Ingest {
  private readonly buffer: DetectionFrameV1[] = [];
  private readonly lastStored = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private subscriptions: Array<{ close(): Promise<void> }> = [];

  constructor(private readonly o: IngestOptions) {}

  async start(): Promise<void> {
    const { bus, store, hub, metrics } = this.o;
    const counted = (topic: string) => metrics.messagesConsumed.inc({ topic });
    this.subscriptions.push(
      // One group member for the four topics: one member per instance rebalances quicker.
      await bus.subscribeMany(
        {
          tracks: async (event) => {
            await store.tracks.applyEvent(event);
            if (event.snapshot)
              await store.cameras.setLatestSnapshot(
                event.orgId,
                event.cameraId,
                event.snapshot.ref,
                event.snapshot.capturedAt,
              );
            counted('tracks');
          },
          detections: async (frame) => {
            hub.publish(frame.orgId, 'detection', frame);
            const key = `${frame.orgId}/${frame.cameraId}`;
            const last = this.lastStored.get(key) ?? Number.NEGATIVE_INFINITY;
            if (frame.capturedAt - last >= this.o.detectionSampleSeconds * 1000) {
              this.lastStored.set(key, frame.capturedAt);
              this.buffer.push(frame);
              if (this.buffer.length >= 500) await this.flush();
            }
            counted('detections');
          },
          cameraStatus: async (status) => {
            const known = await store.cameras.get(status.orgId, status.cameraId);
            if (!known && (await store.organisations.get(status.orgId))) {
              // A camera a device reports that the server has not seen: register it, as an NVR finds its cameras.
              await store.cameras.create({
                orgId: status.orgId,
                id: status.cameraId,
                deviceId: status.deviceId,
                name: status.cameraId,
                input: '',
              });
            }
            await store.cameras.setState(status);
            hub.publish(status.orgId, 'camera-status', status);
            counted('camera-status');
          },
          deviceStatus: async (status) => {
            if (await store.organisations.get(status.orgId)) await store.devices.upsertFromHeartbeat(status);
            else
              this.o.logger.warn(
                { org: status.orgId, device: status.deviceId },
                'heartbeat from a device of an unknown organisation',
              );
            metrics.outboxBacklog.record(status);
            hub.publish(status.orgId, 'device-status', status);
            counted('device-status');
          },
        },
        // A new group reads what the bus still holds: storing is idempotent, and devices that
        // started before the server first ran must not lose what they reported.
        { group: GROUP, fromBeginning: true },
      ),
      await bus.subscribe(
        'deadLetters',
        { group: `${GROUP}-dead-letters`, fromBeginning: true },
        async (letter) => {
          const org = letter.headers['iceberg-org'];
          await store.deadLetters.insert(letter, org && (await store.organisations.get(org)) ? org : null);
          metrics.messagesInvalid.inc({ topic: letter.topic });
          metrics.deadLetters.inc();
        },
      ),
    );
    this.timer = setInterval(
      () => void this.flush().catch((err) => this.o.logger.error({ err }, 'storing detections failed')),
      this.o.flushIntervalMs ?? 1000,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.subscriptions.map((s) => s.close()));
    this.subscriptions = [];
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.buffer.length);
    try {
      await this.o.store.detections.insertMany(batch);
    } catch (err) {
      this.buffer.unshift(...batch); // kept for the next flush, not lost
      throw err;
    }
  }
}
