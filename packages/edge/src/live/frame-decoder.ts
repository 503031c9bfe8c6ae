import {
  type Clock,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '@iceberg/common';
import type { CameraConfig } from '@iceberg/config';
import type { RgbaFrame } from '@iceberg/vision';
import { atLeast, LineSplitter, parseLogLine, StreamInfoParser } from '../camera/ffmpeg-log.ts';
import { redactText } from '../camera/index.ts';
import { cameraInputArgs } from './copy-push.ts';
import { type FfmpegChild, type SpawnFfmpegChild, spawnFfmpegChild, stopChild } from './ffmpeg-child.ts';
import type { PushFailure } from './push-process.ts';

export interface FrameDecoderOptions {
  camera: Pick<CameraConfig, 'input' | 'loop' | 'realtime' | 'rtspTransport'>;
  /** Frames per second delivered (the camera's own rate when it is lower). */
  fps: number;
  /** Widest frame; narrower cameras are not enlarged. */
  maxWidth: number;
  ffmpegPath: string;
  /** No frame within this long: the camera is offline. */
  startTimeoutMs: number;
  clock?: Clock;
  logger?: Logger;
  spawn?: SpawnFfmpegChild;
}

export type FrameDecoderEvents = {
  frame: (frame: RgbaFrame) => void;
  /** It ended by itself (not after `stop()`). */
  ended: (failure: PushFailure) => void;
};

/**
 * Reads a camera with ffmpeg and delivers RGBA frames at up to `fps`, at most `maxWidth` wide
 * (the size is read from ffmpeg's stream dump before the first frame).
 */
export class FrameDecoder extends TypedEmitter<FrameDecoderEvents> {
  private child: FfmpegChild | null = null;
  private size: { width: number; height: number } | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private frames = 0;
  private stopping = false;
  private readonly lines: string[] = [];
  private startTimer: TimerHandle | null = null;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly o: FrameDecoderOptions) {
    super();
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger ?? silentLogger();
  }

  get pids(): number[] {
    const pid = this.child?.pid;
    return pid === undefined ? [] : [pid];
  }

  start(): void {
    if (this.child || this.stopping) return;
    const width = Math.max(2, Math.floor(this.o.maxWidth / 2) * 2);
    const args = [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'level+info',
      ...cameraInputArgs(this.o.camera),
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-vf',
      `fps=${this.o.fps},scale=w='trunc(min(${width},iw)/2)*2':h=-2,format=rgba`,
      '-f',
      'rawvideo',
      'pipe:1',
    ];
    const child = (this.o.spawn ?? spawnFfmpegChild)(this.o.ffmpegPath, args, { stdin: false });
    this.child = child;
    const info = new StreamInfoParser();
    const splitter = new LineSplitter();
    child.stderr.on('data', (chunk: Uint8Array) => {
      for (const raw of splitter.push(chunk)) {
        const line = parseLogLine(redactText(raw));
        if (info.feed(line.text) && !this.size) {
          this.size = info.outputSize(0);
          this.drain();
        }
        if (atLeast(line.level, 'warning')) {
          this.lines.push(line.text);
          if (this.lines.length > 12) this.lines.shift();
        }
      }
    });
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.startTimer = this.clock.setTimeout(() => {
      this.startTimer = null;
      if (this.frames > 0 || this.stopping) return;
      this.stopping = true;
      void stopChild(child, 2000, this.clock);
      const seconds = Math.round(this.o.startTimeoutMs / 100) / 10;
      this.emit('ended', {
        reason: 'camera_offline',
        message: `the camera sent no frame within ${seconds} s`,
        wasRunning: false,
      });
    }, this.o.startTimeoutMs);
    void child.exited.then((exit) => {
      if (this.startTimer) this.clock.clearTimeout(this.startTimer);
      if (this.stopping) return;
      this.stopping = true;
      const last = this.lines.at(-1);
      const detail = last
        ? `: ${last}`
        : exit.error
          ? `: ${exit.error.message}`
          : ` (exit code ${exit.code})`;
      this.emit('ended', {
        reason: 'camera_offline',
        message: `${this.frames > 0 ? 'the camera stream ended' : 'the camera could not be read'}${detail}`,
        wasRunning: this.frames > 0,
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.startTimer) this.clock.clearTimeout(this.startTimer);
    if (this.child) await stopChild(this.child, 2000, this.clock);
  }

  private onData(chunk: Buffer): void {
    // stdout and stderr are separate pipes: frames may arrive before the dump that gives their size.
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.drain();
  }

  private drain(): void {
    if (!this.size) {
      if (this.pendingBytes > 64 * 1024 * 1024) {
        this.logger.warn('no frame size from ffmpeg: frame data dropped');
        this.pending = [];
        this.pendingBytes = 0;
      }
      return;
    }
    const frameBytes = this.size.width * this.size.height * 4;
    while (this.pendingBytes >= frameBytes) {
      const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      const data = new Uint8Array(all.buffer, all.byteOffset, frameBytes);
      const rest = all.subarray(frameBytes);
      this.pending = rest.length > 0 ? [Buffer.from(rest)] : [];
      this.pendingBytes = rest.length;
      this.frames++;
      if (this.startTimer) {
        this.clock.clearTimeout(this.startTimer);
        this.startTimer = null;
      }
      // A copy: the frame is drawn on, and the pipe's buffer may be reused.
      this.emit('frame', { width: this.size.width, height: this.size.height, data: new Uint8Array(data) });
    }
  }
}
