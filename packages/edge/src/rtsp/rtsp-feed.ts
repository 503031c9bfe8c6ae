import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import {
  type Clock,
  errorMessage,
  IcebergError,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '@iceberg/common';
import type { CameraProblemV1 } from '@iceberg/contracts';
import { inputArgs } from '../camera/ffmpeg-args.ts';
import { atLeast, LineSplitter } from '../camera/ffmpeg-log.ts';
import {
  backoffDelay,
  type ClassifiedInput,
  classifyFfmpegExit,
  classifyInput,
  type FfmpegLogLine,
  makeProblem,
  parseLogLine,
  parseVideoStreamLine,
  problemToError,
  redactText,
  redactUrl,
  type V4l2Options,
  type VideoStreamInfo,
} from '../camera/index.ts';
import {
  type FfmpegChild,
  ProgressReader,
  type SpawnFfmpegChild,
  spawnFfmpegChild,
  stopChild,
} from '../live/ffmpeg-child.ts';

/**
 * How a feed gets H.264 to the RTSP server: `copy` passes the input's own H.264 through (almost no
 * CPU); `encode` decodes and encodes with x264 (any other codec: MJPEG or raw capture cards,
 * MPEG-4 files, H.265); `auto` (the default) copies H.264 and encodes the rest.
 */
export type FeedVideoMode = 'auto' | 'copy' | 'encode';

export interface RtspFeedOptions {
  /** For logs: the mount it feeds. */
  name: string;
  /** Anything ffmpeg reads: a file, rtsp://, rtmp://, http(s)://, /dev/videoN. */
  input: string;
  /** 127.0.0.1:udpPort, where the RTSP server's mount listens. */
  udpPort: number;
  /** Files: start again at the end. */
  loop?: boolean;
  rtspTransport?: 'tcp' | 'udp';
  v4l2?: V4l2Options;
  video?: FeedVideoMode;
  /** Encoding: x264 preset (default ultrafast) and keyframe interval (default 1 s, how soon a player can join). */
  preset?: string;
  keyframeSeconds?: number;
  /**
   * `always` (a device's camera): every failure is retried with backoff, forever.
   * `after-first-start` (`iceberg convert`): the first failure rejects `start()`, later ones are retried.
   */
  retry?: 'always' | 'after-first-start';
  ffmpegPath?: string;
  /** No frame within this long (probe included): the attempt failed. Default 20 s. */
  startTimeoutMs?: number;
  /** Frames stop for this long while running: restarted. Default 10 s. */
  stallTimeoutMs?: number;
  ioTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** For tests: how ffmpeg is started. */
  spawn?: SpawnFfmpegChild;
}

export type FeedState = 'starting' | 'running' | 'waiting' | 'ended' | 'stopped';

export interface FeedStatus {
  state: FeedState;
  /** How the running (or last) attempt produces H.264. */
  mode: 'copy' | 'encode' | null;
  /** The input's video stream, once probed. */
  stream: VideoStreamInfo | null;
  problem: CameraProblemV1 | null;
  retryAt: number | null;
}

export type RtspFeedEvents = {
  status: (status: FeedStatus) => void;
};

/** The UDP datagram size of MPEG-TS: 7 packets of 188 bytes. */
const TS_PACKET_SIZE = 1316;
const KEPT_LINES = 20;

/**
 * The ffmpeg that feeds one RTSP mount from any ffmpeg input: it probes the input's codec, then
 * sends its video as MPEG-TS to 127.0.0.1:udpPort (`-c copy` for H.264, x264 otherwise), files at
 * their own pace (`-re`, looping if asked). A supervisor watches its progress: a failure or a stall
 * restarts it after a backoff; a file that is not looped ends the feed.
 */
export class RtspFeed extends TypedEmitter<RtspFeedEvents> {
  readonly input: ClassifiedInput;
  private readonly o: RtspFeedOptions;
  private readonly ffmpegPath: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly spawnChild: SpawnFfmpegChild;
  private current: FeedStatus = { state: 'stopped', mode: null, stream: null, problem: null, retryAt: null };
  private child: FfmpegChild | null = null;
  private attempt = 0;
  private failures = 0;
  private everRan = false;
  private stopping = false;
  private retryTimer: TimerHandle | null = null;
  private watchdog: TimerHandle | null = null;
  private firstStart: { resolve: () => void; reject: (err: Error) => void } | null = null;
  private endedWaiters: (() => void)[] = [];

  constructor(options: RtspFeedOptions) {
    super();
    this.o = options;
    this.input = classifyInput(options.input);
    if (!(Number.isInteger(options.udpPort) && options.udpPort > 0 && options.udpPort <= 65535))
      throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', `${options.udpPort} is not a UDP port`);
    this.ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({
      component: 'rtsp-feed',
      mount: options.name,
      input: redactUrl(options.input),
    });
    this.spawnChild = options.spawn ?? spawnFfmpegChild;
  }

  get status(): FeedStatus {
    return this.current;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts feeding. Resolves once the first frames are on their way. With `retry: 'after-first-start'`
   * a first failure rejects with a coded IcebergError (e.g. `ICEBERG_ERR_NOT_FOUND` for a missing
   * file); with `always` it resolves at once and failures are retried.
   */
  start(): Promise<void> {
    // One run per feed: once stopped (or failed to start) it stays stopped.
    if (this.current.state !== 'stopped' || this.stopping) return Promise.resolve();
    const promise =
      this.o.retry === 'after-first-start'
        ? new Promise<void>((resolve, reject) => {
            this.firstStart = { resolve, reject };
          })
        : Promise.resolve();
    void this.run();
    return promise;
  }

  /** Resolves when a file that is not looped has been sent to its end (never for live inputs). */
  ended(): Promise<void> {
    if (this.current.state === 'ended') return Promise.resolve();
    return new Promise((resolve) => this.endedWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.clearWatchdog();
    const child = this.child;
    this.child = null;
    if (child) await stopChild(child, 3_000, this.clock);
    this.firstStart?.reject(
      new IcebergError('ICEBERG_ERR_INTERNAL', 'the feed was stopped before it started'),
    );
    this.firstStart = null;
    this.setStatus({ state: 'stopped', retryAt: null });
  }

  // ---------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const attempt = ++this.attempt;
    this.setStatus({ state: 'starting', retryAt: null });
    let stream: VideoStreamInfo;
    try {
      stream = await probeVideo(this.input, {
        ffmpegPath: this.ffmpegPath,
        rtspTransport: this.o.rtspTransport ?? 'tcp',
        ioTimeoutMs: this.o.ioTimeoutMs ?? 10_000,
        timeoutMs: this.o.startTimeoutMs ?? 20_000,
        ...(this.o.v4l2 ? { v4l2: this.o.v4l2 } : {}),
      });
    } catch (err) {
      if (attempt === this.attempt && !this.stopping) this.fail(toProblem(err));
      return;
    }
    if (attempt !== this.attempt || this.stopping) return;
    let mode: 'copy' | 'encode';
    try {
      mode = chooseMode(this.o.video ?? 'auto', stream.codec);
    } catch (err) {
      this.fail(makeProblem('codec', errorMessage(err)));
      return;
    }
    this.setStatus({ stream, mode });
    const args = this.ffmpegArgs(mode, stream);
    this.logger.info(
      { codec: stream.codec, size: `${stream.width}x${stream.height}`, mode },
      'RTSP feed starting',
    );
    this.logger.debug({ command: redactText([this.ffmpegPath, ...args].join(' ')) }, 'ffmpeg command');

    const child = this.spawnChild(this.ffmpegPath, args, { stdin: false });
    this.child = child;
    const lines: FfmpegLogLine[] = [];
    let frames = 0;
    const started = this.clock.now();
    const splitter = new LineSplitter();
    child.stderr.on('data', (chunk: Uint8Array) => {
      for (const raw of splitter.push(chunk)) {
        const line = parseLogLine(redactText(raw));
        if (atLeast(line.level, 'warning')) {
          lines.push(line);
          if (lines.length > KEPT_LINES) lines.shift();
          this.logger.debug({ line: line.text }, 'ffmpeg');
        }
      }
    });
    const progress = new ProgressReader((n) => {
      if (n <= frames) return;
      frames = n;
      this.armWatchdog(child, this.o.stallTimeoutMs ?? 10_000, 'stalled');
      if (this.current.state !== 'running') this.onRunning();
    });
    child.stdout.on('data', (chunk: Uint8Array) => progress.push(chunk));
    this.armWatchdog(child, this.o.startTimeoutMs ?? 20_000, 'timeout');

    const exit = await child.exited;
    if (this.child !== child) return; // stopped, or replaced after a watchdog kill
    this.child = null;
    this.clearWatchdog();
    if (this.stopping) return;
    for (const raw of splitter.flush()) lines.push(parseLogLine(redactText(raw)));
    if (exit.code === 0 && frames > 0 && this.input.kind === 'file' && !this.o.loop) {
      this.logger.info({ frames }, 'RTSP feed: the file was sent to its end');
      this.setStatus({ state: 'ended', problem: null, retryAt: null });
      for (const w of this.endedWaiters.splice(0)) w();
      return;
    }
    const problem = classifyFfmpegExit({
      kind: this.input.kind,
      lines,
      exitCode: exit.code,
      signal: exit.signal,
      spawnError: exit.error,
      frames,
      ffmpegPath: this.ffmpegPath,
      elapsedMs: this.clock.now() - started,
      ioTimeoutMs: this.o.ioTimeoutMs ?? 10_000,
    });
    this.fail(problem);
  }

  private onRunning(): void {
    this.everRan = true;
    this.failures = 0;
    this.setStatus({ state: 'running', problem: null, retryAt: null });
    this.logger.info('RTSP feed running');
    this.firstStart?.resolve();
    this.firstStart = null;
  }

  private armWatchdog(child: FfmpegChild, ms: number, why: 'timeout' | 'stalled'): void {
    this.clearWatchdog();
    this.watchdog = this.clock.setTimeout(() => {
      this.watchdog = null;
      if (this.child !== child || this.stopping) return;
      this.child = null;
      void stopChild(child, 3_000, this.clock);
      this.fail(
        makeProblem(
          why,
          why === 'timeout'
            ? `no frame sent within ${ms / 1000} s`
            : `no new frame for ${ms / 1000} s; ffmpeg was restarted`,
        ),
      );
    }, ms);
  }

  private clearWatchdog(): void {
    if (this.watchdog) this.clock.clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  private fail(problem: CameraProblemV1): void {
    if (this.stopping) return;
    if (this.firstStart && !this.everRan && this.o.retry === 'after-first-start') {
      const reject = this.firstStart.reject;
      this.firstStart = null;
      this.setStatus({ state: 'stopped', problem, retryAt: null });
      this.stopping = true;
      reject(problemToError(problem));
      return;
    }
    this.failures++;
    const delay = backoffDelay(this.failures, {
      initialMs: this.o.initialBackoffMs ?? 1_000,
      maxMs: this.o.maxBackoffMs ?? 30_000,
    });
    const same = this.current.problem?.message === problem.message;
    this.logger[same ? 'debug' : 'warn']({ problem, retryInMs: delay }, 'RTSP feed failed');
    this.setStatus({ state: 'waiting', problem, retryAt: this.clock.now() + delay });
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopping) void this.run();
    }, delay);
  }

  private ffmpegArgs(mode: 'copy' | 'encode', stream: VideoStreamInfo): string[] {
    const input = inputArgs({
      input: this.input,
      live: true,
      loop: this.o.loop ?? false,
      // A file served as a camera is sent at its own pace.
      realtime: true,
      rtspTransport: this.o.rtspTransport ?? 'tcp',
      ioTimeoutMs: this.o.ioTimeoutMs ?? 10_000,
      ...(this.o.v4l2 ? { v4l2: this.o.v4l2 } : {}),
    });
    const fps = stream.fps > 0 && stream.fps <= 120 ? stream.fps : 25;
    const gop = String(Math.max(1, Math.round(fps * (this.o.keyframeSeconds ?? 1))));
    const video =
      mode === 'copy'
        ? ['-c:v', 'copy']
        : [
            '-c:v',
            'libx264',
            '-preset',
            this.o.preset ?? 'ultrafast',
            '-tune',
            'zerolatency',
            '-bf',
            '0',
            '-g',
            gop,
            '-keyint_min',
            gop,
            '-sc_threshold',
            '0',
            '-pix_fmt',
            'yuv420p',
            // x264 wants even sizes (capture cards and old files have odd ones now and then).
            '-vf',
            'scale=trunc(iw/2)*2:trunc(ih/2)*2',
          ];
    return [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'level+warning',
      '-progress',
      'pipe:1',
      ...input,
      '-i',
      this.input.url,
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      ...video,
      '-f',
      'mpegts',
      '-mpegts_flags',
      '+resend_headers',
      `udp://127.0.0.1:${this.o.udpPort}?pkt_size=${TS_PACKET_SIZE}`,
    ];
  }

  private setStatus(next: Partial<FeedStatus>): void {
    const prev = this.current;
    this.current = { ...prev, ...next };
    if (prev.state !== this.current.state || prev.problem?.message !== this.current.problem?.message)
      this.emit('status', this.current);
  }
}

function chooseMode(video: FeedVideoMode, codec: string): 'copy' | 'encode' {
  if (video === 'auto') return codec === 'h264' ? 'copy' : 'encode';
  if (video === 'copy' && codec !== 'h264')
    throw new IcebergError(
      'ICEBERG_ERR_CAMERA_INPUT',
      `the input's video is ${codec}, not H.264: it cannot be served by copy (use the default, auto, to encode it)`,
    );
  return video;
}

function toProblem(err: unknown): CameraProblemV1 {
  const problem = (err as IcebergError | undefined)?.details?.problem as CameraProblemV1 | undefined;
  return problem ?? makeProblem('error', errorMessage(err));
}

export interface ProbeOptions {
  ffmpegPath: string;
  rtspTransport: 'tcp' | 'udp';
  ioTimeoutMs: number;
  /** The whole probe; default 20 s. */
  timeoutMs?: number;
  v4l2?: V4l2Options;
}

/**
 * The input's first video stream (codec, size, frame rate), read from ffmpeg's stream dump: ffmpeg
 * opens the input and stops (no output is given), so no ffprobe is needed. Rejects with a coded
 * IcebergError (missing file, refused connection, no video) whose `details.problem` is the
 * camera problem.
 */
export async function probeVideo(input: ClassifiedInput, o: ProbeOptions): Promise<VideoStreamInfo> {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'level+info',
    ...inputArgs({
      input,
      live: false,
      loop: false,
      realtime: false,
      rtspTransport: o.rtspTransport,
      ioTimeoutMs: o.ioTimeoutMs,
      ...(o.v4l2 ? { v4l2: o.v4l2 } : {}),
    }),
    '-i',
    input.url,
  ];
  const child = spawn(o.ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'], windowsHide: true });
  const lines: FfmpegLogLine[] = [];
  let video: VideoStreamInfo | null = null;
  const splitter = new LineSplitter();
  child.stderr.on('data', (chunk: Uint8Array) => {
    for (const raw of splitter.push(chunk)) {
      const line = parseLogLine(redactText(raw));
      video ??= /^\s*Stream #0:/.test(line.text) ? parseVideoStreamLine(line.text) : null;
      if (atLeast(line.level, 'warning')) lines.push(line);
    }
  });
  const started = Date.now();
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
  const exit = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    error: (Error & { code?: string }) | null;
  }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, error: null }));
    child.once('error', (error: Error & { code?: string }) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  clearTimeout(timer);
  if (video) return video;
  // ffmpeg always ends with "At least one output file must be specified": not the problem.
  const relevant = lines.filter((l) => !/output file must be specified/i.test(l.text));
  const problem = classifyFfmpegExit({
    kind: input.kind,
    lines: relevant,
    exitCode: exit.code,
    signal: exit.signal,
    spawnError: exit.error,
    frames: 0,
    ffmpegPath: o.ffmpegPath,
    elapsedMs: Date.now() - started,
    ioTimeoutMs: o.ioTimeoutMs,
  });
  const noVideo = relevant.length === 0 && exit.error === null && exit.signal === null;
  throw problemToError(noVideo ? makeProblem('codec', 'the input has no video stream') : problem);
}

/** A UDP port on 127.0.0.1 that is free now (for a feed and its mount). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
