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
import type { CameraConfig, IcebergConfig } from '@iceberg/config';
import type {
  CameraStatusV1,
  CommandAckV1,
  CommandV1,
  ProtectRecordingV1,
  StartStreamV1,
  StopStreamV1,
} from '@iceberg/contracts';
import type { Annotation } from '@iceberg/vision';
import { backoffDelay } from '../camera/backoff.ts';
import { redactText } from '../camera/index.ts';
import { AnnotatedPush } from './annotated-push.ts';
import { createCopyPush } from './copy-push.ts';
import { LatestTracks } from './latest-tracks.ts';
import type { LivePush, PushFailure } from './push-process.ts';

/** What to push, for the push factory. */
export interface PushRequest {
  camera: CameraConfig;
  publishUrl: string;
  annotated: boolean;
  /** The objects to draw now (annotated pushes). */
  objects: () => readonly Annotation[];
}

/** What a handler of a command that is not about a live stream answers: the acknowledgement to send. */
export interface CommandOutcome {
  status: 'accepted' | 'failed';
  reason?: CommandAckV1['reason'];
  message?: string;
}

/** Handlers of the other commands, by type (a command without one is acknowledged as failed). */
export interface CommandHandlers {
  /** Keep a camera's footage of a range longer (an alert's): see recording/protect-command.ts. */
  ProtectRecording?: (command: ProtectRecordingV1) => Promise<CommandOutcome>;
}

export interface StreamingAgentOptions {
  config: Pick<IcebergConfig, 'org' | 'device' | 'cameras' | 'live' | 'ffmpegPath'>;
  bus: Bus;
  /** The commands this agent does not run itself: it filters, de-duplicates and acknowledges them. */
  handlers?: CommandHandlers;
  clock?: Clock;
  logger?: Logger;
  /** For tests: how a push is made (default: ffmpeg copy or annotated push to RTMP). */
  createPush?: (request: PushRequest) => LivePush;
  /** Restart backoff's randomness (tests). */
  random?: () => number;
}

export type StreamState = 'starting' | 'running' | 'restarting' | 'stopped';

export type StreamingAgentEvents = {
  stream: (change: { streamId: string; cameraId: string; state: StreamState; reason?: string }) => void;
};

interface Stream {
  streamId: string;
  camera: CameraConfig;
  annotated: boolean;
  publishUrl: string;
  /** The latest StartStream's id: the acks about this stream answer it. */
  commandId: string;
  state: StreamState;
  push: LivePush | null;
  everRunning: boolean;
  failures: number;
  ttlTimer: TimerHandle | null;
  restartTimer: TimerHandle | null;
  expiresAt: number;
}

/** Acks kept per command id, to answer a repeated command without acting on it again. */
const REMEMBERED_COMMANDS = 1000;
/** Start attempts of a stream that has never run, when the server could not be reached. */
const START_ATTEMPTS = 3;
const MAX_BACKOFF_MS = 30_000;
/** How long `start` waits for the first subscription attempt before the device goes on. */
const FIRST_ATTEMPT_WAIT_MS = 5_000;
/** Room for the device's and the server's clocks to disagree before a command counts as stale. */
const STALE_COMMAND_SKEW_MS = 30_000;

/**
 * The device's streaming agent ("Kinship"): obeys StartStream / StopStream commands addressed
 * to this device (with Kafka every device reads the same topic: the others are ignored and
 * counted), pushes the camera to the re-streaming server (copied, or annotated and re-encoded),
 * acknowledges every step (accepted, started, failed with a reason, stopped), restarts a broken
 * push with backoff while the stream is wanted, and stops on command or when the server stopped
 * renewing the stream for its time-to-live: no stream runs forever.
 */
export class StreamingAgent extends TypedEmitter<StreamingAgentEvents> {
  readonly counters = { commands: 0, ignored: 0, repeated: 0, stale: 0, acks: 0, ackFailures: 0 };
  readonly tracks = new LatestTracks();
  private readonly streams = new Map<string, Stream>();
  private readonly acks = new Map<string, CommandAckV1>();
  private readonly cameraStates = new Map<string, CameraStatusV1>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private subscription: { close(): Promise<void> } | null = null;
  private running = false;
  private listening: Promise<void> = Promise.resolve();
  private firstAttempt: Promise<void> = Promise.resolve();
  private cancelRetry: (() => void) | null = null;

  constructor(private readonly o: StreamingAgentOptions) {
    super();
    this.clock = o.clock ?? systemClock;
    this.logger = (o.logger ?? silentLogger()).child({ component: 'streaming-agent' });
  }

  /** Streams currently wanted, by stream id (for tests and status). */
  streamStates(): Record<string, StreamState> {
    return Object.fromEntries([...this.streams].map(([id, s]) => [id, s.state]));
  }

  /** Pids of every push process (for tests and CPU figures). */
  get pids(): number[] {
    return [...this.streams.values()].flatMap((s) => s.push?.pids ?? []);
  }

  /**
   * Listens for commands. When the bus cannot be reached (a device that starts while its link to
   * Kafka is down), it keeps trying in the background with a growing delay, and the device runs
   * on meanwhile: `start` waits for the first attempt, at most `FIRST_ATTEMPT_WAIT_MS`.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.listening = this.listen();
    // A first attempt against an unreachable Kafka takes librdkafka's connect timeout (30 s): the
    // device's heartbeats, which follow its start, must not wait that long.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.firstAttempt,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, FIRST_ATTEMPT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Whether the agent has its subscription to the commands topic. */
  get listeningForCommands(): boolean {
    return this.subscription !== null;
  }

  private async listen(): Promise<void> {
    const { org, device } = this.o.config;
    let settle: () => void = () => undefined;
    this.firstAttempt = new Promise<void>((resolve) => {
      settle = resolve;
    });
    for (let failures = 0; this.running; ) {
      try {
        const subscription = await this.o.bus.subscribe(
          'commands',
          // Every device reads the whole topic; the dead letters of malformed commands are the server's business.
          { group: `iceberg-device-${org}-${device.id}`, deadLetterInvalid: false },
          async (command) => this.handle(command),
        );
        if (!this.running) {
          await subscription.close();
          break;
        }
        this.subscription = subscription;
        this.logger.info({ device: device.id }, 'streaming agent listening for commands');
        break;
      } catch (err) {
        failures++;
        const delay = backoffDelay(failures, { initialMs: 1000, maxMs: MAX_BACKOFF_MS }, this.o.random);
        this.logger.warn(
          { device: device.id, err: errorMessage(err), retryInMs: delay, attempt: failures },
          'cannot listen for commands (live view is unavailable until then); trying again',
        );
        settle();
        await new Promise<void>((resolve) => {
          const timer = this.clock.setTimeout(resolve, delay);
          this.cancelRetry = () => {
            this.clock.clearTimeout(timer);
            resolve();
          };
        });
        this.cancelRetry = null;
      }
    }
    settle();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.cancelRetry?.();
    await this.listening;
    await this.subscription?.close();
    this.subscription = null;
    await Promise.all(
      [...this.streams.values()].map((s) =>
        this.end(s, 'stopped', 'internal', 'the device is shutting down'),
      ),
    );
  }

  /** The camera pipeline analysed a frame: its objects are drawn on the annotated stream. */
  onAnalysed(cameraId: string, objects: readonly Annotation[], at: number): void {
    this.tracks.update(cameraId, objects, at);
  }

  onCameraStatus(status: CameraStatusV1): void {
    this.cameraStates.set(status.cameraId, status);
  }

  /** Handles one command from the bus (public for tests). */
  async handle(command: CommandV1): Promise<void> {
    const { org, device } = this.o.config;
    if (command.orgId !== org || command.deviceId !== device.id) {
      this.counters.ignored++;
      return;
    }
    this.counters.commands++;
    const known = this.acks.get(command.commandId);
    if (known) {
      // A retry of a command already handled: answer again, do nothing again.
      this.counters.repeated++;
      await this.sendAck({ ...known, at: this.clock.now() });
      return;
    }
    switch (command.type) {
      case 'StartStream':
        return this.onStart(command);
      case 'StopStream':
        return this.onStop(command);
      case 'ProtectRecording':
        return this.dispatch(command, this.o.handlers?.ProtectRecording);
    }
  }

  /** A command handled elsewhere (by type): its outcome is acknowledged like a stream's. */
  private async dispatch<C extends CommandV1>(
    c: C,
    handler: ((c: C) => Promise<CommandOutcome>) | undefined,
  ): Promise<void> {
    if (!handler) {
      await this.ack(c, 'failed', 'invalid', `this device does not handle ${c.type} commands`);
      return;
    }
    let outcome: CommandOutcome;
    try {
      outcome = await handler(c);
    } catch (err) {
      this.logger.error({ command: c.commandId, type: c.type, err: errorMessage(err) }, 'command failed');
      outcome = { status: 'failed', reason: 'internal', message: errorMessage(err) };
    }
    await this.ack(c, outcome.status, outcome.reason, outcome.message);
  }

  private async onStart(c: StartStreamV1): Promise<void> {
    // A command older than its time-to-live (plus room for clock skew) is a replay — e.g. a
    // device that resumed its consumer group after a restart — and nobody is waiting for it.
    const age = this.clock.now() - c.issuedAt;
    if (age > c.ttlSeconds * 1000 + STALE_COMMAND_SKEW_MS) {
      this.counters.stale++;
      await this.ack(
        c,
        'failed',
        'ttl_expired',
        `the command was issued ${Math.round(age / 1000)} s ago, longer than its time-to-live: not started`,
      );
      return;
    }
    await this.ack(c, 'accepted');
    const camera = this.o.config.cameras.find((cam) => cam.id === c.cameraId);
    if (!camera?.enabled) {
      await this.ack(c, 'failed', 'unknown_camera', `this device has no enabled camera "${c.cameraId}"`);
      return;
    }
    const status = this.cameraStates.get(c.cameraId);
    if (status?.state === 'offline') {
      const why = status.problem ? `: ${status.problem.message}` : '';
      await this.ack(
        c,
        'failed',
        'camera_offline',
        redactText(`the camera "${c.cameraId}" is offline${why}`),
      );
      return;
    }
    // One stream per camera: a new stream of the camera replaces an older one.
    for (const other of this.streams.values())
      if (other.camera.id === c.cameraId && other.streamId !== c.streamId)
        await this.end(other, 'stopped', 'superseded', `replaced by the stream ${c.streamId}`);

    const existing = this.streams.get(c.streamId);
    if (existing) {
      existing.commandId = c.commandId;
      this.armTtl(existing, c.ttlSeconds);
      if (existing.publishUrl !== c.publishUrl || existing.annotated !== c.annotated) {
        existing.publishUrl = c.publishUrl;
        existing.annotated = c.annotated;
        existing.everRunning = false;
        existing.failures = 0;
        await this.restartNow(existing);
      } else if (existing.state === 'running') {
        await this.ack(c, 'started', undefined, 'renewed');
      }
      return;
    }
    const stream: Stream = {
      streamId: c.streamId,
      camera,
      annotated: c.annotated,
      publishUrl: c.publishUrl,
      commandId: c.commandId,
      state: 'starting',
      push: null,
      everRunning: false,
      failures: 0,
      ttlTimer: null,
      restartTimer: null,
      expiresAt: 0,
    };
    this.streams.set(c.streamId, stream);
    this.armTtl(stream, c.ttlSeconds);
    this.logger.info(
      { stream: c.streamId, camera: c.cameraId, annotated: c.annotated, publish: redactText(c.publishUrl) },
      'live stream starting',
    );
    this.launch(stream);
  }

  private async onStop(c: StopStreamV1): Promise<void> {
    const stream = this.streams.get(c.streamId);
    if (!stream || stream.camera.id !== c.cameraId) {
      await this.ack(c, 'stopped', 'stopped_by_command', 'the stream was not running');
      return;
    }
    stream.commandId = c.commandId;
    await this.end(stream, 'stopped', 'stopped_by_command', "stopped on the server's command");
  }

  // --- the push --------------------------------------------------------------------------------

  private launch(stream: Stream): void {
    stream.restartTimer = null;
    if (!this.streams.has(stream.streamId)) return;
    const push = (this.o.createPush ?? this.defaultPush)({
      camera: stream.camera,
      publishUrl: stream.publishUrl,
      annotated: stream.annotated,
      objects: () => this.tracks.get(stream.camera.id, this.clock.now(), this.trackMaxAgeMs(stream.camera)),
    });
    stream.push = push;
    push.on('running', () => {
      if (stream.push !== push) return;
      stream.everRunning = true;
      stream.failures = 0;
      this.setState(stream, 'running');
      this.logger.info({ stream: stream.streamId, camera: stream.camera.id }, 'live stream running');
      void this.ackStream(stream, 'started');
    });
    push.on('ended', (failure) => {
      if (stream.push !== push) return;
      stream.push = null;
      void this.onPushEnded(stream, failure);
    });
    this.setState(stream, stream.everRunning ? 'restarting' : 'starting');
    push.start();
  }

  private readonly defaultPush = (r: PushRequest): LivePush => {
    const push = this.o.config.live.push;
    const startTimeoutMs = push.startTimeoutSeconds * 1000;
    const output = ['-f', 'flv', r.publishUrl];
    const logger = this.logger.child({ camera: r.camera.id });
    if (!r.annotated)
      return createCopyPush({
        camera: r.camera,
        output,
        ffmpegPath: this.o.config.ffmpegPath,
        startTimeoutMs,
        clock: this.clock,
        logger,
      });
    return new AnnotatedPush({
      camera: r.camera,
      output,
      fps: push.annotatedFps,
      maxWidth: push.annotatedMaxWidth,
      preset: push.x264Preset,
      keyframeSeconds: push.keyframeSeconds,
      ffmpegPath: this.o.config.ffmpegPath,
      startTimeoutMs,
      objects: r.objects,
      clock: this.clock,
      logger,
    });
  };

  private async onPushEnded(stream: Stream, failure: PushFailure): Promise<void> {
    if (!this.streams.has(stream.streamId)) return;
    stream.failures++;
    // Give up at once when retrying cannot help: a refused key, a camera that never answered,
    // or a server that could not be reached a few times before the stream ever ran.
    const giveUp =
      failure.reason === 'publish_refused' ||
      (!stream.everRunning && (failure.reason === 'camera_offline' || stream.failures >= START_ATTEMPTS));
    if (giveUp) {
      this.logger.warn({ stream: stream.streamId, failure }, 'live stream failed');
      await this.end(stream, 'failed', failure.reason, failure.message);
      return;
    }
    const delay = backoffDelay(
      stream.failures,
      { initialMs: this.o.config.live.push.restartBackoffSeconds * 1000, maxMs: MAX_BACKOFF_MS },
      this.o.random,
    );
    this.logger.warn(
      { stream: stream.streamId, failure, attempt: stream.failures, retryInMs: delay },
      'live push broke; restarting',
    );
    this.setState(stream, 'restarting', failure.reason);
    stream.restartTimer = this.clock.setTimeout(() => this.launch(stream), delay);
  }

  private async restartNow(stream: Stream): Promise<void> {
    if (stream.restartTimer) this.clock.clearTimeout(stream.restartTimer);
    stream.restartTimer = null;
    const push = stream.push;
    stream.push = null;
    await push?.stop();
    this.launch(stream);
  }

  private armTtl(stream: Stream, ttlSeconds: number): void {
    if (stream.ttlTimer) this.clock.clearTimeout(stream.ttlTimer);
    stream.expiresAt = this.clock.now() + ttlSeconds * 1000;
    stream.ttlTimer = this.clock.setTimeout(() => {
      stream.ttlTimer = null;
      void this.end(
        stream,
        'stopped',
        'ttl_expired',
        `the server did not renew the stream for ${ttlSeconds} s: stopped so that it does not run forever`,
      );
    }, ttlSeconds * 1000);
  }

  /** Ends a stream: its processes are gone before the ack goes out. */
  private async end(
    stream: Stream,
    status: 'stopped' | 'failed',
    reason: NonNullable<CommandAckV1['reason']>,
    message: string,
  ): Promise<void> {
    if (this.streams.get(stream.streamId) !== stream) return;
    this.streams.delete(stream.streamId);
    if (stream.ttlTimer) this.clock.clearTimeout(stream.ttlTimer);
    if (stream.restartTimer) this.clock.clearTimeout(stream.restartTimer);
    const push = stream.push;
    stream.push = null;
    try {
      await push?.stop();
    } catch (err) {
      this.logger.error({ stream: stream.streamId, err: errorMessage(err) }, 'stopping the push failed');
    }
    this.setState(stream, 'stopped', reason);
    this.logger.info({ stream: stream.streamId, camera: stream.camera.id, reason }, 'live stream ended');
    await this.ackStream(stream, status, reason, message);
  }

  private trackMaxAgeMs(camera: CameraConfig): number {
    return Math.max(2000, 2500 / camera.detect.fps);
  }

  private setState(stream: Stream, state: StreamState, reason?: string): void {
    stream.state = state;
    this.emit('stream', {
      streamId: stream.streamId,
      cameraId: stream.camera.id,
      state,
      ...(reason && { reason }),
    });
  }

  // --- acknowledgements ------------------------------------------------------------------------

  private ackStream(
    stream: Stream,
    status: CommandAckV1['status'],
    reason?: CommandAckV1['reason'],
    message?: string,
  ): Promise<void> {
    return this.ack(
      { commandId: stream.commandId, cameraId: stream.camera.id, streamId: stream.streamId },
      status,
      reason,
      message,
    );
  }

  private async ack(
    c: { commandId: string; cameraId: string; streamId: string },
    status: CommandAckV1['status'],
    reason?: CommandAckV1['reason'],
    message?: string,
  ): Promise<void> {
    const ack: CommandAckV1 = {
      schema: 'command-ack.v1',
      orgId: this.o.config.org,
      deviceId: this.o.config.device.id,
      commandId: c.commandId,
      cameraId: c.cameraId,
      streamId: c.streamId,
      at: this.clock.now(),
      status,
      ...(reason && { reason }),
      ...(message && { message: redactText(message).slice(0, 1000) }),
    };
    this.acks.delete(c.commandId);
    this.acks.set(c.commandId, ack);
    if (this.acks.size > REMEMBERED_COMMANDS) this.acks.delete(this.acks.keys().next().value as string);
    await this.sendAck(ack);
  }

  private async sendAck(ack: CommandAckV1): Promise<void> {
    try {
      await this.o.bus.publish('commandAcks', ack);
      this.counters.acks++;
    } catch (err) {
      // The server retries its command (same id) and gets this answer again.
      this.counters.ackFailures++;
      this.logger.warn({ command: ack.commandId, err: errorMessage(err) }, 'acknowledgement not sent');
    }
  }
}
