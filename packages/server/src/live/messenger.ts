import { randomUUID } from 'node:crypto';
import type { Bus } from '@iceberg/bus';
import {
  type Clock,
  errorMessage,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '@iceberg/common';
import type { ServerLiveConfig } from '@iceberg/config';
import type { CommandAckV1, CommandV1, StartStreamV1, StopStreamV1 } from '@iceberg/contracts';

/**
 * The Server Messenger: sends StartStream / StopStream commands to devices over the bus and
 * follows each one through the device's acknowledgements:
 *
 *   sent ─► accepted ─► started            (StartStream: the push runs)
 *     │         └─────► failed(reason)      (the device said why)
 *     │                 stopped             (StopStream done, or the stream ended)
 *     └─► timed_out(device_unreachable)     (no answer within `commandTimeoutSeconds`)
 *
 * An unanswered command is sent again with the SAME command id (`commandRetries` times, evenly
 * spread over the timeout), so a device that gets it twice acts once. A StartStream to a device
 * whose heartbeats stopped fails at once with `device_offline`.
 */
export type CommandState = 'sent' | 'accepted' | 'started' | 'stopped' | 'failed' | 'timed_out';

/** Reasons the server gives on its own (besides the device's reasons in `command-ack.v1`). */
export type ServerCommandReason = 'device_unreachable' | 'device_offline' | 'start_timeout';
export type CommandReason = NonNullable<CommandAckV1['reason']> | ServerCommandReason;

export interface CommandStatus {
  id: string;
  /** The messenger sends the live-stream commands (ProtectRecording goes out fire-and-forget). */
  type: OutgoingCommand['type'];
  orgId: string;
  deviceId: string;
  cameraId: string;
  streamId: string;
  state: CommandState;
  reason: CommandReason | null;
  message: string | null;
  /** Times the command was published (1 + retries so far). */
  attempts: number;
  sentAt: number;
  updatedAt: number;
}

/** A command as the caller gives it: the messenger adds the schema, the id and the time. */
export type OutgoingCommand =
  | Omit<StartStreamV1, 'schema' | 'commandId' | 'issuedAt'>
  | Omit<StopStreamV1, 'schema' | 'commandId' | 'issuedAt'>;

export type MessengerEvents = {
  /** A command this instance sent changed state. */
  command: (status: Readonly<CommandStatus>) => void;
  /** Every valid acknowledgement of a command this instance sent (later ones about its stream too). */
  ack: (ack: CommandAckV1) => void;
};

/**
 * What the server knows of a device's presence (its heartbeats): the reason it is known to be
 * offline, or null when it is online or not known to be offline.
 */
export type DevicePresence = (orgId: string, deviceId: string) => Promise<string | null>;

export interface MessengerOptions {
  bus: Bus;
  config: Pick<ServerLiveConfig, 'commandTimeoutSeconds' | 'commandRetries'>;
  presence?: DevicePresence;
  clock?: Clock;
  logger?: Logger;
  /**
   * Names this server instance's consumer group of `command-acks`: every instance reads every
   * acknowledgement and keeps those of the commands it sent. Default: random.
   */
  instanceId?: string;
}

interface Tracked {
  status: CommandStatus;
  message: CommandV1;
  timers: TimerHandle[];
}

const TERMINAL: ReadonlySet<CommandState> = new Set(['stopped', 'failed', 'timed_out']);
/** Finished commands are remembered this long (late acknowledgements still find them). */
const FORGET_AFTER_MS = 10 * 60_000;
/** After `accepted`, the device has this many command timeouts to start the push. */
const START_TIMEOUT_FACTOR = 4;

export class Messenger extends TypedEmitter<MessengerEvents> {
  private readonly tracked = new Map<string, Tracked>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly instanceId: string;
  private subscription: { close(): Promise<void> } | null = null;
  private closed = false;

  constructor(private readonly o: MessengerOptions) {
    super();
    this.clock = o.clock ?? systemClock;
    this.logger = (o.logger ?? silentLogger()).child({ component: 'messenger' });
    this.instanceId = o.instanceId ?? randomUUID().slice(0, 8);
  }

  /** Starts reading the devices' acknowledgements. */
  async start(): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.o.bus.subscribe(
      'commandAcks',
      // Malformed acks are parked by whoever else reads the topic; one per instance would be noise.
      { group: `iceberg-server-messenger-${this.instanceId}`, deadLetterInvalid: false },
      async (ack) => this.onAck(ack),
    );
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const t of this.tracked.values()) this.clearTimers(t);
    this.tracked.clear();
    await this.subscription?.close();
    this.subscription = null;
  }

  /** The status of a command this instance sent (recently). */
  status(commandId: string): Readonly<CommandStatus> | undefined {
    return this.tracked.get(commandId)?.status;
  }

  /**
   * Sends a command and starts following it. Resolves once it was published (or failed at once:
   * a StartStream to a device known to be offline); later changes come as `command` events.
   */
  async send(command: OutgoingCommand): Promise<Readonly<CommandStatus>> {
    const now = this.clock.now();
    const message = {
      ...command,
      schema: 'command.v1',
      commandId: `cmd-${randomUUID()}`,
      issuedAt: now,
    } as CommandV1;
    const status: CommandStatus = {
      id: message.commandId,
      type: command.type,
      orgId: message.orgId,
      deviceId: message.deviceId,
      cameraId: message.cameraId,
      streamId: message.streamId,
      state: 'sent',
      reason: null,
      message: null,
      attempts: 0,
      sentAt: now,
      updatedAt: now,
    };
    const t: Tracked = { status, message, timers: [] };
    this.tracked.set(status.id, t);
    if (message.type === 'StartStream' && this.o.presence) {
      let offline: string | null = null;
      try {
        offline = await this.o.presence(message.orgId, message.deviceId);
      } catch (err) {
        this.logger.warn({ err: errorMessage(err) }, 'device presence unknown; sending anyway');
      }
      if (offline) {
        this.finish(t, 'failed', 'device_offline', offline);
        return status;
      }
    }
    const timeoutMs = this.o.config.commandTimeoutSeconds * 1000;
    const retries = this.o.config.commandRetries;
    const every = timeoutMs / (retries + 1);
    for (let i = 1; i <= retries; i++)
      t.timers.push(this.clock.setTimeout(() => this.resend(t), Math.round(every * i)));
    t.timers.push(this.clock.setTimeout(() => this.onTimeout(t), timeoutMs));
    await this.publish(t);
    return status;
  }

  private async publish(t: Tracked): Promise<void> {
    if (this.closed) return;
    t.status.attempts++;
    try {
      await this.o.bus.publish('commands', t.message);
      this.logger.debug(
        { command: t.status.id, type: t.status.type, device: t.status.deviceId, attempt: t.status.attempts },
        'command sent',
      );
    } catch (err) {
      // The retries and the timeout still run: the command fails as unanswered if the bus stays down.
      this.logger.warn({ command: t.status.id, err: errorMessage(err) }, 'command could not be sent');
    }
  }

  private resend(t: Tracked): void {
    if (t.status.state !== 'sent') return;
    void this.publish(t);
  }

  private onTimeout(t: Tracked): void {
    if (t.status.state !== 'sent') return;
    const seconds = this.o.config.commandTimeoutSeconds;
    const attempts = t.status.attempts === 1 ? '1 attempt' : `${t.status.attempts} attempts`;
    this.finish(
      t,
      'timed_out',
      'device_unreachable',
      `the device "${t.status.deviceId}" did not answer within ${seconds} s (${attempts})`,
    );
  }

  private onAck(ack: CommandAckV1): void {
    const t = this.tracked.get(ack.commandId);
    if (!t) return; // another instance's command, or long forgotten
    const s = t.status;
    if (ack.orgId !== s.orgId || ack.deviceId !== s.deviceId || ack.streamId !== s.streamId) {
      this.logger.warn(
        { command: s.id, from: `${ack.orgId}/${ack.deviceId}` },
        'acknowledgement from a device the command was not sent to: ignored',
      );
      return;
    }
    this.emit('ack', ack);
    const reason = ack.reason ?? null;
    const message = ack.message ?? null;
    switch (ack.status) {
      case 'accepted':
        if (s.state !== 'sent') return;
        this.clearTimers(t);
        this.set(t, 'accepted', null, null);
        if (s.type === 'StartStream') {
          const ms = this.o.config.commandTimeoutSeconds * 1000 * START_TIMEOUT_FACTOR;
          t.timers.push(
            this.clock.setTimeout(() => {
              if (s.state === 'accepted')
                this.finish(
                  t,
                  'timed_out',
                  'start_timeout',
                  `the device accepted but did not start the stream within ${ms / 1000} s`,
                );
            }, ms),
          );
        }
        return;
      case 'started':
        if (s.state === 'started') return;
        this.clearTimers(t);
        this.set(t, 'started', null, message);
        return;
      case 'failed':
        this.finish(t, 'failed', reason ?? 'internal', message);
        return;
      case 'stopped':
        this.finish(t, 'stopped', reason, message);
        return;
      default: {
        const never: never = ack.status;
        throw new Error(`unknown ack status ${String(never)}`);
      }
    }
  }

  private finish(
    t: Tracked,
    state: CommandState,
    reason: CommandReason | null,
    message: string | null,
  ): void {
    if (TERMINAL.has(t.status.state) && t.status.state === state && t.status.reason === reason) return;
    this.clearTimers(t);
    this.set(t, state, reason, message);
    if (state === 'failed' || state === 'timed_out')
      this.logger.warn(
        { command: t.status.id, type: t.status.type, device: t.status.deviceId, reason, message },
        'command failed',
      );
    t.timers.push(this.clock.setTimeout(() => this.tracked.delete(t.status.id), FORGET_AFTER_MS));
  }

  private set(t: Tracked, state: CommandState, reason: CommandReason | null, message: string | null): void {
    const s = t.status;
    s.state = state;
    s.reason = reason;
    s.message = message;
    s.updatedAt = this.clock.now();
    this.emit('command', { ...s });
  }

  private clearTimers(t: Tracked): void {
    for (const timer of t.timers) this.clock.clearTimeout(timer);
    t.timers = [];
  }
}
