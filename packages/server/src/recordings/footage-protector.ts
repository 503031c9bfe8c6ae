/**
 * Alerts protect footage: when the server raises an alert, it tells the camera's device to keep
 * the recording around it (`ProtectRecording` on the `commands` topic: the alert's time minus a
 * pre-roll to plus a post-roll) for `recording.protectedDays` instead of the ordinary age caps.
 * Fire and forget: the device acknowledges on `command-acks` (accepted, or failed with a reason)
 * and nobody waits; a publish that fails is retried with the same command id (the device acts on
 * it once) a few times before it is given up and logged.
 */
import type { Bus } from '@iceberg/bus';
import {
  type Clock,
  errorMessage,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '@iceberg/common';
import type { AlertV1, ProtectRecordingV1 } from '@iceberg/contracts';

export interface FootageProtectorOptions {
  bus: Pick<Bus, 'publish'>;
  clock?: Clock;
  logger?: Logger;
  /** Footage kept before the alert's time (default 30 s). */
  preRollSeconds?: number;
  /** Footage kept after the alert's time (default 30 s). */
  postRollSeconds?: number;
  /** Waits before the retries of a publish that failed (default 1 s, 5 s, 30 s). */
  retryDelaysMs?: readonly number[];
}

export class FootageProtector {
  readonly counters = { sent: 0, retried: 0, dropped: 0 };
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timers = new Set<TimerHandle>();
  private closed = false;

  constructor(private readonly o: FootageProtectorOptions) {
    this.clock = o.clock ?? systemClock;
    this.logger = (o.logger ?? silentLogger()).child({ component: 'footage-protector' });
  }

  /** The command for an alert (exposed for tests). */
  command(alert: Pick<AlertV1, 'id' | 'orgId' | 'deviceId' | 'cameraId' | 'at'>): ProtectRecordingV1 {
    const pre = (this.o.preRollSeconds ?? 30) * 1000;
    const post = (this.o.postRollSeconds ?? 30) * 1000;
    return {
      schema: 'command.v1',
      type: 'ProtectRecording',
      orgId: alert.orgId,
      deviceId: alert.deviceId,
      commandId: `protect-${alert.id}`,
      issuedAt: this.clock.now(),
      cameraId: alert.cameraId,
      streamId: alert.id,
      from: Math.max(0, alert.at - pre),
      to: alert.at + Math.max(1, post),
      reason: 'alert',
      alertId: alert.id,
    };
  }

  /** Sends the alert's ProtectRecording to its device (returns at once). */
  protect(alert: Pick<AlertV1, 'id' | 'orgId' | 'deviceId' | 'cameraId' | 'at'>): void {
    void this.send(this.command(alert), 0);
  }

  /** Stops pending retries (the server's shutdown). */
  close(): void {
    this.closed = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
  }

  private async send(command: ProtectRecordingV1, attempt: number): Promise<void> {
    if (this.closed) return;
    try {
      await this.o.bus.publish('commands', command);
      this.counters.sent++;
      this.logger.debug(
        { alert: command.alertId, device: command.deviceId, camera: command.cameraId },
        'alert footage protection sent',
      );
    } catch (err) {
      const delays = this.o.retryDelaysMs ?? [1_000, 5_000, 30_000];
      const delay = delays[attempt];
      if (delay === undefined) {
        this.counters.dropped++;
        this.logger.error(
          { alert: command.alertId, device: command.deviceId, err: errorMessage(err) },
          'alert footage protection could not be sent: the footage keeps the ordinary retention',
        );
        return;
      }
      this.counters.retried++;
      this.logger.warn(
        { alert: command.alertId, err: errorMessage(err), retryInMs: delay },
        'alert footage protection not sent: will retry',
      );
      const timer = this.clock.setTimeout(() => {
        this.timers.delete(timer);
        void this.send(command, attempt + 1);
      }, delay);
      this.timers.add(timer);
    }
  }
}
