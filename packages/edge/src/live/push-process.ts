import {
  type Clock,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '@iceberg/common';
import { atLeast, LineSplitter, parseLogLine } from '../camera/ffmpeg-log.ts';
import { type FfmpegExit, redactText } from '../camera/index.ts';
import {
  type FfmpegChild,
  ProgressReader,
  type SpawnFfmpegChild,
  spawnFfmpegChild,
  stopChild,
} from './ffmpeg-child.ts';

/** Why a push ended by itself (the reasons of `command-ack.v1`). */
export interface PushFailure {
  reason: 'camera_offline' | 'publish_refused' | 'publish_failed';
  /** For people: what happened, credentials hidden. */
  message: string;
  /** It had been pushing frames (a broken stream, worth restarting) rather than failing to start. */
  wasRunning: boolean;
}

export type LivePushEvents = {
  /** Frames are reaching the output (the re-streaming server accepted the publish). */
  running: () => void;
  /** It ended by itself; not emitted after `stop()`. */
  ended: (failure: PushFailure) => void;
};

/** A live push: one camera to one output, started and stopped as a whole. */
export interface LivePush extends TypedEmitter<LivePushEvents> {
  start(): void;
  /** Ends every process of the push (SIGTERM, then SIGKILL); resolves when they are gone. */
  stop(): Promise<void>;
  /** Pids of its running processes (for tests and CPU figures). */
  readonly pids: number[];
}

export interface PushProcessOptions {
  ffmpegPath: string;
  /** ffmpeg's arguments after the global ones (`-progress` is added here). */
  args: readonly string[];
  /** Fed on stdin (an encoder of raw frames) rather than reading an input itself. */
  stdin?: boolean;
  /** No frame written within this long: failed. */
  startTimeoutMs: number;
  killGraceMs?: number;
  clock?: Clock;
  logger?: Logger;
  spawn?: SpawnFfmpegChild;
}

const KEPT_LINES = 12;

/**
 * One supervised ffmpeg that writes to the re-streaming server: reports `running` when its first
 * frame is written (`-progress`), and on its end says why, from its log (see `classifyPushFailure`).
 */
export class PushProcess extends TypedEmitter<LivePushEvents> implements LivePush {
  private child: FfmpegChild | null = null;
  private readonly lines: string[] = [];
  private sawInput = false;
  private frames = 0;
  private stopping = false;
  private startTimer: TimerHandle | null = null;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly o: PushProcessOptions) {
    super();
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger ?? silentLogger();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get pids(): number[] {
    const pid = this.child?.pid;
    return pid === undefined ? [] : [pid];
  }

  get stdin() {
    return this.child?.stdin ?? null;
  }

  get running(): boolean {
    return this.frames > 0 && this.child !== null;
  }

  start(): void {
    if (this.child || this.stopping) return;
    const args = [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'level+info',
      '-progress',
      'pipe:1',
      '-stats_period',
      '0.5',
      ...(this.o.stdin ? [] : ['-nostdin']),
      ...this.o.args,
    ];
    const child = (this.o.spawn ?? spawnFfmpegChild)(this.o.ffmpegPath, args, {
      stdin: this.o.stdin ?? false,
    });
    this.child = child;
    this.logger.debug({ pid: child.pid, command: redactText(args.join(' ')) }, 'push process started');
    const progress = new ProgressReader((frames) => {
      if (frames > 0 && this.frames === 0) {
        this.frames = frames;
        this.clearStartTimer();
        this.emit('running');
      }
      this.frames = Math.max(this.frames, frames);
    });
    child.stdout.on('data', (chunk: Uint8Array) => progress.push(chunk));
    const splitter = new LineSplitter();
    child.stderr.on('data', (chunk: Uint8Array) => {
      for (const raw of splitter.push(chunk)) this.onLine(raw);
    });
    this.startTimer = this.clock.setTimeout(() => {
      this.startTimer = null;
      if (this.frames > 0 || this.stopping) return;
      const seconds = Math.round(this.o.startTimeoutMs / 100) / 10;
      this.fail(
        this.sawInput || this.o.stdin
          ? {
              reason: 'publish_failed',
              message: `no frame reached the re-streaming server within ${seconds} s`,
            }
          : { reason: 'camera_offline', message: `the camera sent nothing within ${seconds} s` },
      );
    }, this.o.startTimeoutMs);
    void child.exited.then((exit) => {
      for (const raw of splitter.flush()) this.onLine(raw);
      this.onExit(exit);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.clearStartTimer();
    const child = this.child;
    if (child) await stopChild(child, this.o.killGraceMs ?? 2000, this.clock);
  }

  private onLine(raw: string): void {
    const line = parseLogLine(redactText(raw));
    if (/^Input #0, /.test(line.text)) this.sawInput = true;
    if (atLeast(line.level, 'warning')) {
      this.lines.push(line.component ? `[${line.component}] ${line.text}` : line.text);
      if (this.lines.length > KEPT_LINES) this.lines.shift();
      this.logger.debug({ line: line.text }, 'push ffmpeg');
    }
  }

  private onExit(exit: FfmpegExit): void {
    this.clearStartTimer();
    if (this.stopping) return;
    if (exit.error) {
      this.emitEnded({
        reason: 'publish_failed',
        message: `cannot run ffmpeg (${this.o.ffmpegPath}): ${exit.error.message}`,
      });
      return;
    }
    this.emitEnded(
      classifyPushFailure({
        lines: this.lines,
        sawInput: this.sawInput || (this.o.stdin ?? false),
        wasRunning: this.frames > 0,
        exit,
      }),
    );
  }

  /** Gives up on a process that is still there (start timeout): ends it, then reports. */
  private fail(failure: Omit<PushFailure, 'wasRunning'>): void {
    const child = this.child;
    this.stopping = true;
    if (child) void stopChild(child, this.o.killGraceMs ?? 2000, this.clock);
    this.emit('ended', { ...failure, wasRunning: false });
  }

  private emitEnded(failure: Omit<PushFailure, 'wasRunning'> & { wasRunning?: boolean }): void {
    this.stopping = true;
    this.emit('ended', { wasRunning: this.frames > 0, ...failure });
  }

  private clearStartTimer(): void {
    if (this.startTimer) this.clock.clearTimeout(this.startTimer);
    this.startTimer = null;
  }
}

const UNREACHABLE =
  /Connection refused|Cannot open connection|Connection timed out|timed out|No route to host|Network is unreachable|Name or service not known|Failed to resolve|Temporary failure in name resolution|Connection reset/i;
const REFUSED =
  /Input\/output error|Server error|NetStream\.Publish\.(BadName|Failed)|Forbidden|\b403\b|Broken pipe|End of file/i;
const CODEC =
  /codec not currently supported in container|Could not write header|Tag \[.*\] incompatible|Invalid data found/i;

/**
 * Why a push ended, from ffmpeg's last warnings and errors: the camera could not be read
 * (`camera_offline`, before ffmpeg printed its `Input #0`), the server could not be reached or
 * the stream broke (`publish_failed`), or it took the connection and refused the publish: a
 * wrong or revoked key (`publish_refused`).
 */
export function classifyPushFailure(o: {
  lines: readonly string[];
  sawInput: boolean;
  wasRunning: boolean;
  exit: Pick<FfmpegExit, 'code' | 'signal'>;
}): PushFailure {
  const last = o.lines.at(-1)?.trim();
  const detail = last
    ? `: ${last}`
    : o.exit.signal
      ? ` (killed by ${o.exit.signal})`
      : ` (exit code ${o.exit.code})`;
  const all = o.lines.join('\n');
  if (!o.sawInput)
    return { reason: 'camera_offline', message: `the camera could not be read${detail}`, wasRunning: false };
  if (o.wasRunning) return { reason: 'publish_failed', message: `the push broke${detail}`, wasRunning: true };
  if (UNREACHABLE.test(all))
    return {
      reason: 'publish_failed',
      message: `the re-streaming server could not be reached${detail}`,
      wasRunning: false,
    };
  if (CODEC.test(all))
    return {
      reason: 'publish_failed',
      message: `the camera's video cannot be copied into an RTMP stream (ask for the annotated stream, which is re-encoded)${detail}`,
      wasRunning: false,
    };
  if (REFUSED.test(all))
    return {
      reason: 'publish_refused',
      message: `the re-streaming server refused the publish (wrong or expired stream key)${detail}`,
      wasRunning: false,
    };
  return { reason: 'publish_failed', message: `the push failed${detail}`, wasRunning: false };
}
