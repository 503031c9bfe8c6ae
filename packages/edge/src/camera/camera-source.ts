import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  type Clock,
  errorMessage,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '@iceberg/common';
import type { CameraProblemV1, CameraState } from '@iceberg/contracts';
import type { BgrFrame, RgbaFrame } from '@iceberg/vision';
import { backoffDelay } from './backoff.ts';
import { buildFfmpegArgs, type V4l2Options, VIEW_OUTPUT_INDEX } from './ffmpeg-args.ts';
import { classifyFfmpegExit, makeProblem, problemToError } from './ffmpeg-errors.ts';
import {
  atLeast,
  type FfmpegLogLine,
  LineSplitter,
  parseLogLine,
  StreamInfoParser,
  type VideoStreamInfo,
} from './ffmpeg-log.ts';
import {
  type FfmpegExit,
  type FfmpegProcess,
  type SpawnFfmpeg,
  spawnFfmpeg,
  terminate,
} from './ffmpeg-process.ts';
import { type FramePair, FrameReader } from './frame-reader.ts';
import { type ClassifiedInput, classifyInput, redactText, redactUrl } from './input-kind.ts';

export type StreamInfo = VideoStreamInfo;

/** A camera's state as the source reports it: the wire `camera-status.v1` minus origin and schema. */
export interface CameraSourceStatus {
  state: CameraState;
  at: number;
  problem: CameraProblemV1 | null;
  /** Consecutive failed attempts (reset once the camera has stayed online for `stableAfterMs`). */
  attempt: number;
  retryAt: number | null;
  stream: StreamInfo | null;
}

/** One sampled instant, as the detector (416×416 BGR) and as people (RGBA, aspect kept) see it. */
export interface SampledFrame {
  /** 0, 1, 2 … over the life of the source (it keeps counting across reconnections). */
  seq: number;
  /** Seconds from the start of the stream (of the current connection): frame index / fps. */
  pts: number;
  /** Epoch ms. Live: when the frame arrived. Offline: the start time + pts. */
  capturedAt: number;
  detect: BgrFrame;
  view: RgbaFrame;
}

/**
 * `live`: a camera; frames are emitted as they arrive and never held back, failures are retried
 * forever with backoff. `offline`: a file processed once, as fast as the frame handler allows;
 * no frame is dropped, nothing is retried, `done()` resolves at the end.
 */
export type CameraSourceMode = 'live' | 'offline';

export interface CameraSourceResult {
  frames: number;
  reason: 'ended' | 'stopped';
}

export interface CameraSourceOptions {
  cameraId: string;
  /** rtsp(s)://, rtmp(s)://, http(s)://, a file path or file:// URL, /dev/videoN or v4l2:///dev/videoN. */
  input: string;
  mode?: CameraSourceMode;
  /** Sampled frames per second. Default 2. */
  fps?: number;
  /** Files: start again at the end. Default false. */
  loop?: boolean;
  /** Files: read at the native frame rate. Default true when live, false when offline. */
  realtime?: boolean;
  rtspTransport?: 'tcp' | 'udp';
  /** Widest view frame (height follows the aspect ratio, both even). Default 640. */
  viewMaxWidth?: number;
  /** Default: env FFMPEG_PATH, else 'ffmpeg' on the PATH. */
  ffmpegPath?: string;
  /** No first frame within this while connecting: `timeout`. Default 20 s. */
  connectTimeoutMs?: number;
  /** No frame for this while online: `stalled`. Default max(10 s, 5 frame intervals). */
  stallTimeoutMs?: number;
  /** ffmpeg's socket I/O timeout on network inputs. Default 10 s. */
  ioTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Online this long: the failure count and the backoff start again from zero. Default 30 s. */
  stableAfterMs?: number;
  /** Between SIGTERM and SIGKILL when ffmpeg is stopped. Default 3 s. */
  killGraceMs?: number;
  v4l2?: V4l2Options;
  extraInputArgs?: readonly string[];
  /** More outputs of the same ffmpeg (a recorder, a live push): see `buildFfmpegArgs`. */
  extraOutputs?: readonly (readonly string[])[];
  /**
   * More outputs decided afresh before each ffmpeg start, appended after `extraOutputs` (a recorder
   * writes each run into a directory of its own). Called once per attempt; `exited` follows its end.
   */
  attemptOutputs?: () => readonly (readonly string[])[];
  /** Offline mode: awaited before the next frame is read (backpressure down to ffmpeg). */
  onFrame?: (frame: SampledFrame) => Promise<void> | void;
  clock?: Clock;
  logger?: Logger;
  /** For tests: how ffmpeg is started. */
  spawn?: SpawnFfmpeg;
  /** For tests: the jitter's randomness. */
  random?: () => number;
}

export type CameraSourceEvents = {
  /** A change of state or problem. */
  status: (status: CameraSourceStatus) => void;
  frame: (frame: SampledFrame) => void;
  /** Every line ffmpeg writes on stderr, credentials hidden. */
  log: (line: FfmpegLogLine) => void;
  /** An attempt's ffmpeg process is gone (after a failure, a restart or `stop()`): its files are complete. */
  exited: (exit: FfmpegExit) => void;
};

/** Lines of warning level or worse kept per attempt for the diagnosis. */
const KEPT_LINES = 20;

interface Attempt {
  proc: FfmpegProcess;
  reader: FrameReader;
  info: StreamInfoParser;
  splitter: LineSplitter;
  lines: FfmpegLogLine[];
  startedAt: number;
  frames: number;
  /** Failed, finished or stopped: everything it still does is ignored. */
  over: boolean;
  connectTimer: TimerHandle | null;
  stallTimer: TimerHandle | null;
  /** Offline mode: pairs waiting for the frame handler, and whether the handler loop runs. */
  queue: FramePair[];
  pumping: boolean;
  closedExit: FfmpegExit | null;
}

/**
 * A camera: one ffmpeg process that reads any input and writes sampled, decoded frames, watched
 * by a state machine (connecting → online → offline with a reason → connecting …), a watchdog
 * and a backoff. See DESIGN.md, "ffmpeg" and "Recording".
 */
export class CameraSource extends TypedEmitter<CameraSourceEvents> {
  readonly cameraId: string;
  readonly mode: CameraSourceMode;
  readonly input: ClassifiedInput;
  /** ffmpeg's arguments (credentials included: never log them as they are, see `commandLine`). */
  readonly args: readonly string[];
  readonly ffmpegPath: string;

  private readonly fps: number;
  private readonly connectTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly ioTimeoutMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly stableAfterMs: number;
  private readonly killGraceMs: number;
  private readonly onFrame: ((frame: SampledFrame) => Promise<void> | void) | undefined;
  private readonly attemptOutputs: (() => readonly (readonly string[])[]) | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly spawnProcess: SpawnFfmpeg;
  private readonly random: () => number;

  private current: CameraSourceStatus;
  private attemptNow: Attempt | null = null;
  private failures = 0;
  private seq = 0;
  private started = false;
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private retryTimer: TimerHandle | null = null;
  private stableTimer: TimerHandle | null = null;
  /** Processes being terminated: the next one starts only when they are gone. */
  private dying: Promise<unknown> = Promise.resolve();
  private readonly donePromise: Promise<CameraSourceResult>;
  private settleDone: ((r: CameraSourceResult | Error) => void) | null = null;

  constructor(options: CameraSourceOptions) {
    super();
    this.cameraId = options.cameraId;
    this.mode = options.mode ?? 'live';
    this.input = classifyInput(options.input);
    this.fps = options.fps ?? 2;
    if (!(this.fps > 0 && this.fps <= 60)) throw new RangeError(`fps must be in (0, 60], got ${this.fps}`);
    const live = this.mode === 'live';
    this.ioTimeoutMs = options.ioTimeoutMs ?? 10_000;
    this.args = buildFfmpegArgs({
      input: this.input,
      fps: this.fps,
      live,
      loop: options.loop ?? false,
      realtime: options.realtime ?? live,
      rtspTransport: options.rtspTransport ?? 'tcp',
      ioTimeoutMs: this.ioTimeoutMs,
      viewMaxWidth: options.viewMaxWidth ?? 640,
      ...(options.v4l2 ? { v4l2: options.v4l2 } : {}),
      ...(options.extraInputArgs ? { extraInputArgs: options.extraInputArgs } : {}),
      ...(options.extraOutputs ? { extraOutputs: options.extraOutputs } : {}),
    });
    this.ffmpegPath = options.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 20_000;
    this.stallTimeoutMs = options.stallTimeoutMs ?? Math.max(10_000, 5_000 / this.fps);
    this.initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = Math.max(this.initialBackoffMs, options.maxBackoffMs ?? 30_000);
    this.stableAfterMs = options.stableAfterMs ?? 30_000;
    this.killGraceMs = options.killGraceMs ?? 3_000;
    this.onFrame = options.onFrame;
    this.attemptOutputs = options.attemptOutputs;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({
      camera: this.cameraId,
      input: redactUrl(options.input),
    });
    this.spawnProcess = options.spawn ?? spawnFfmpeg;
    this.random = options.random ?? Math.random;
    this.current = {
      state: 'offline',
      at: this.clock.now(),
      problem: null,
      attempt: 0,
      retryAt: null,
      stream: null,
    };
    this.donePromise = new Promise<CameraSourceResult>((resolve, reject) => {
      this.settleDone = (r) => (r instanceof Error ? reject(r) : resolve(r));
    });
    this.donePromise.catch(() => {}); // a caller who never asks must not see an unhandled rejection
  }

  /** The current status (also before the first event). */
  get status(): CameraSourceStatus {
    return this.current;
  }

  /** The pid of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.attemptNow?.proc.pid;
  }

  /** Frames emitted so far. */
  get frames(): number {
    return this.seq;
  }

  /** The command line for logs and reports, credentials hidden. */
  get commandLine(): string {
    return redactText([this.ffmpegPath, ...this.args].map(quote).join(' '));
  }

  /**
   * Resolves when the source is finished: offline, at the end of the input ({reason: 'ended'});
   * either mode, on `stop()` ({reason: 'stopped'}). Offline, rejects with a coded IcebergError
   * when the input cannot be read, or with the frame handler's error.
   */
  done(): Promise<CameraSourceResult> {
    return this.donePromise;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.logger.info({ fps: this.fps, mode: this.mode }, 'camera source starting');
    this.logger.debug({ command: this.commandLine }, 'ffmpeg command');
    this.connect();
  }

  /** Stops ffmpeg (SIGTERM, then SIGKILL after the grace period); resolves when it is gone. */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.stopping = true;
    this.clearTimer('retryTimer');
    this.clearTimer('stableTimer');
    const a = this.attemptNow;
    if (a && !a.over) this.endAttempt(a);
    this.stopPromise = (async () => {
      await this.dying;
      if (this.settleDone) {
        if (this.started) this.setStatus({ state: 'offline', problem: null, retryAt: null, stream: null });
        this.finishDone({ frames: this.seq, reason: 'stopped' });
      }
      this.logger.info({ frames: this.seq }, 'camera source stopped');
    })();
    return this.stopPromise;
  }

  // --- the attempt: one ffmpeg process ---------------------------------------------------------

  private connect(): void {
    this.retryTimer = null;
    if (this.stopping) return;
    this.setStatus({ state: 'connecting', problem: this.current.problem, retryAt: null, stream: null });
    void this.dying.then(() => this.spawnAttempt());
  }

  private spawnAttempt(): void {
    if (this.stopping || this.attemptNow) return;
    let proc: FfmpegProcess;
    try {
      const more = this.attemptOutputs?.() ?? [];
      proc = this.spawnProcess(this.ffmpegPath, more.length > 0 ? [...this.args, ...more.flat()] : this.args);
    } catch (err) {
      const spawnError = err instanceof Error ? err : new Error(String(err));
      this.fail(null, classifyFfmpegExit({ ...this.exitContextBase(), spawnError, frames: 0, lines: [] }));
      return;
    }
    const a: Attempt = {
      proc,
      reader: new FrameReader({
        onPair: (pair) => this.onPair(a, pair),
        onError: (err) => this.fail(a, makeProblem('error', err.message)),
      }),
      info: new StreamInfoParser(),
      splitter: new LineSplitter(),
      lines: [],
      startedAt: this.clock.now(),
      frames: 0,
      over: false,
      connectTimer: null,
      stallTimer: null,
      queue: [],
      pumping: false,
      closedExit: null,
    };
    this.attemptNow = a;
    this.logger.debug({ pid: proc.pid }, 'ffmpeg started');
    proc.detect.on('data', (chunk: Uint8Array) => a.reader.pushDetect(chunk));
    proc.view.on('data', (chunk: Uint8Array) => a.reader.pushView(chunk));
    proc.stderr.on('data', (chunk: Uint8Array) => {
      for (const line of a.splitter.push(chunk)) this.onLine(a, line);
    });
    a.connectTimer = this.clock.setTimeout(() => this.onConnectTimeout(a), this.connectTimeoutMs);
    // The end: the process is gone and every byte it wrote has been read (offline, frames may
    // still wait in paused pipes when the process has already exited).
    const drained = (stream: Readable) => finished(stream).catch(() => {});
    void Promise.all([proc.closed, drained(proc.detect), drained(proc.view)]).then(([exit]) =>
      this.onClosed(a, exit),
    );
  }

  private onLine(a: Attempt, raw: string): void {
    const line = parseLogLine(redactText(raw));
    if (a.info.feed(line.text) && !a.reader.viewSize) {
      const size = a.info.outputSize(VIEW_OUTPUT_INDEX);
      if (size) a.reader.setViewSize(size.width, size.height);
    }
    if (atLeast(line.level, 'warning')) {
      a.lines.push(line);
      if (a.lines.length > KEPT_LINES) a.lines.shift();
    }
    this.emit('log', line);
  }

  private onPair(a: Attempt, pair: FramePair): void {
    if (a.over) return;
    if (this.mode === 'live') {
      this.deliver(a, pair);
      return;
    }
    a.queue.push(pair);
    if (!a.pumping) void this.pump(a);
  }

  /** Offline: one frame at a time through the handler, the pipes paused meanwhile. */
  private async pump(a: Attempt): Promise<void> {
    a.pumping = true;
    a.proc.detect.pause();
    a.proc.view.pause();
    this.clearAttemptTimer(a, 'stallTimer');
    while (a.queue.length > 0 && !a.over) {
      const frame = this.deliver(a, a.queue.shift()!);
      try {
        await this.onFrame?.(frame);
      } catch (err) {
        this.logger.error({ err: errorMessage(err) }, 'frame handler failed');
        this.fail(a, makeProblem('error', `the frame handler failed: ${errorMessage(err)}`), err);
        return;
      }
    }
    a.pumping = false;
    if (a.over) return;
    if (a.closedExit) {
      this.onExit(a, a.closedExit);
      return;
    }
    a.proc.detect.resume();
    a.proc.view.resume();
    this.armStall(a);
  }

  private deliver(a: Attempt, pair: FramePair): SampledFrame {
    const now = this.clock.now();
    if (a.frames === 0) this.goOnline(a);
    const pts = a.frames / this.fps;
    a.frames++;
    const frame: SampledFrame = {
      seq: this.seq++,
      pts,
      capturedAt: this.mode === 'live' ? now : a.startedAt + pts * 1000,
      detect: pair.detect,
      view: pair.view,
    };
    if (this.mode === 'live') this.armStall(a);
    try {
      this.emit('frame', frame);
    } catch (err) {
      // A listener's bug must not take the camera down.
      this.logger.error({ err: errorMessage(err) }, 'a frame listener threw');
    }
    return frame;
  }

  private goOnline(a: Attempt): void {
    this.clearAttemptTimer(a, 'connectTimer');
    const info = a.info.input;
    const view = a.reader.viewSize;
    const stream: StreamInfo = info ?? {
      width: view?.width ?? 1,
      height: view?.height ?? 1,
      codec: 'unknown',
      fps: 0,
    };
    this.setStatus({ state: 'online', problem: null, retryAt: null, stream });
    this.clearTimer('stableTimer');
    this.stableTimer = this.clock.setTimeout(() => {
      this.stableTimer = null;
      this.failures = 0;
      this.current = { ...this.current, attempt: 0 };
    }, this.stableAfterMs);
  }

  private armStall(a: Attempt): void {
    this.clearAttemptTimer(a, 'stallTimer');
    if (a.over) return;
    a.stallTimer = this.clock.setTimeout(() => {
      a.stallTimer = null;
      if (a.over) return;
      this.fail(
        a,
        makeProblem('stalled', `no new frame for ${seconds(this.stallTimeoutMs)}; ffmpeg was restarted`),
      );
    }, this.stallTimeoutMs);
  }

  private onConnectTimeout(a: Attempt): void {
    a.connectTimer = null;
    if (a.over || a.frames > 0) return;
    const last = a.lines[a.lines.length - 1];
    const detail = last ? ` (last ffmpeg message: ${last.text.trim()})` : '';
    this.fail(a, makeProblem('timeout', `no video frame within ${seconds(this.connectTimeoutMs)}${detail}`));
  }

  private onClosed(a: Attempt, exit: FfmpegExit): void {
    for (const line of a.splitter.flush()) this.onLine(a, line);
    if (a.over) return;
    if (a.pumping) {
      a.closedExit = exit; // the handler loop finishes the frames already read, then ends
      return;
    }
    this.onExit(a, exit);
  }

  private onExit(a: Attempt, exit: FfmpegExit): void {
    const problem = classifyFfmpegExit({
      ...this.exitContextBase(),
      lines: a.lines,
      exitCode: exit.code,
      signal: exit.signal,
      spawnError: exit.error,
      frames: a.frames,
      elapsedMs: this.clock.now() - a.startedAt,
    });
    this.fail(a, problem);
  }

  private exitContextBase() {
    return {
      kind: this.input.kind,
      exitCode: null,
      signal: null,
      ffmpegPath: this.ffmpegPath,
      ioTimeoutMs: this.ioTimeoutMs,
    };
  }

  /**
   * The attempt is over with a problem: offline mode ends (resolving or rejecting `done`), live
   * mode goes offline and schedules the next attempt after the backoff.
   */
  private fail(a: Attempt | null, problem: CameraProblemV1, cause?: unknown): void {
    if (a) {
      if (a.over) return;
      this.endAttempt(a);
    }
    if (this.stopping) return;
    this.clearTimer('stableTimer');
    if (this.mode === 'offline') {
      this.setStatus({ state: 'offline', problem, retryAt: null, stream: null });
      if (problem.code === 'ended') {
        this.logger.info({ frames: this.seq }, 'input ended');
        this.finishDone({ frames: this.seq, reason: 'ended' });
      } else {
        this.logger.warn({ problem }, 'camera source failed');
        this.finishDone(cause instanceof Error ? cause : problemToError(problem));
      }
      return;
    }
    this.failures++;
    const delay = backoffDelay(
      this.failures,
      { initialMs: this.initialBackoffMs, maxMs: this.maxBackoffMs },
      this.random,
    );
    const retryAt = this.clock.now() + delay;
    const sameProblem = this.current.problem?.message === problem.message;
    this.setStatus({ state: 'offline', problem, retryAt, stream: null });
    // A camera down for days must not fill the log: the same problem again is a debug line.
    this.logger[sameProblem ? 'debug' : 'warn'](
      { problem, attempt: this.failures, retryInMs: delay },
      'camera offline',
    );
    this.clearTimer('retryTimer');
    this.retryTimer = this.clock.setTimeout(() => this.connect(), delay);
  }

  /** Marks the attempt over, stops reading its frames and ends its process. */
  private endAttempt(a: Attempt): void {
    a.over = true;
    a.queue.length = 0;
    this.clearAttemptTimer(a, 'connectTimer');
    this.clearAttemptTimer(a, 'stallTimer');
    if (this.attemptNow === a) this.attemptNow = null;
    // Keep draining the pipes (discarding) so that ffmpeg is never blocked on a write and can
    // finish its other outputs on SIGTERM.
    for (const stream of [a.proc.detect, a.proc.view]) {
      stream.removeAllListeners('data');
      stream.resume();
    }
    const gone = terminate(a.proc, this.killGraceMs, this.clock).then((exit) => {
      try {
        this.emit('exited', exit);
      } catch (err) {
        this.logger.error({ err: errorMessage(err) }, 'an exit listener threw');
      }
    });
    this.dying = Promise.all([this.dying, gone]);
  }

  // --- status and bookkeeping ------------------------------------------------------------------

  private setStatus(next: Omit<CameraSourceStatus, 'at' | 'attempt'>): void {
    const prev = this.current;
    const status: CameraSourceStatus = {
      state: next.state,
      at: this.clock.now(),
      problem: next.problem,
      attempt: this.failures,
      retryAt: next.retryAt,
      stream: next.stream,
    };
    const changed =
      prev.state !== status.state ||
      prev.problem?.code !== status.problem?.code ||
      prev.problem?.message !== status.problem?.message;
    if (!changed) {
      this.current = { ...status, at: prev.at };
      return;
    }
    this.current = status;
    if (status.state === 'online') this.logger.info({ stream: status.stream }, 'camera online');
    this.emit('status', status);
  }

  private finishDone(result: CameraSourceResult | Error): void {
    const settle = this.settleDone;
    this.settleDone = null;
    settle?.(result);
  }

  private clearTimer(name: 'retryTimer' | 'stableTimer'): void {
    const t = this[name];
    if (t) this.clock.clearTimeout(t);
    this[name] = null;
  }

  private clearAttemptTimer(a: Attempt, name: 'connectTimer' | 'stallTimer'): void {
    const t = a[name];
    if (t) this.clock.clearTimeout(t);
    a[name] = null;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
