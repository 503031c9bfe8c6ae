import { type Clock, type Logger, silentLogger, TypedEmitter } from '@iceberg/common';
import type { CameraConfig } from '@iceberg/config';
import type { Annotation } from '@iceberg/vision';
import { AnnotatedEncoder } from './annotated-encoder.ts';
import { FrameDecoder } from './frame-decoder.ts';
import type { LivePush, LivePushEvents, PushFailure } from './push-process.ts';

export interface AnnotatedPushOptions {
  camera: Pick<CameraConfig, 'input' | 'loop' | 'realtime' | 'rtspTransport'>;
  /** Any ffmpeg output, e.g. `['-f', 'flv', 'rtmp://…']`. */
  output: readonly string[];
  fps: number;
  maxWidth: number;
  preset: string;
  keyframeSeconds: number;
  ffmpegPath: string;
  startTimeoutMs: number;
  /** The objects to draw now (the camera pipeline's latest tracks). */
  objects: () => readonly Annotation[];
  clock?: Clock;
  logger?: Logger;
}

/**
 * The annotated live stream: a decoder reads the camera (≤ fps, ≤ maxWidth), each frame gets the
 * latest tracks drawn on it, and an `AnnotatedEncoder` (x264) sends it to the output. Two ffmpeg
 * processes; either ending ends the push.
 */
export class AnnotatedPush extends TypedEmitter<LivePushEvents> implements LivePush {
  private readonly decoder: FrameDecoder;
  private encoder: AnnotatedEncoder | null = null;
  private over = false;
  private readonly logger: Logger;

  constructor(o: AnnotatedPushOptions) {
    super();
    this.logger = o.logger ?? silentLogger();
    this.decoder = new FrameDecoder({
      camera: o.camera,
      fps: o.fps,
      maxWidth: o.maxWidth,
      ffmpegPath: o.ffmpegPath,
      startTimeoutMs: o.startTimeoutMs,
      ...(o.clock && { clock: o.clock }),
      logger: this.logger,
    });
    this.decoder.on('frame', (frame) => {
      if (this.over) return;
      if (!this.encoder) {
        const encoder = new AnnotatedEncoder({
          size: { width: frame.width, height: frame.height },
          fps: o.fps,
          preset: o.preset,
          keyframeSeconds: o.keyframeSeconds,
          output: o.output,
          ffmpegPath: o.ffmpegPath,
          startTimeoutMs: o.startTimeoutMs,
          ...(o.clock && { clock: o.clock }),
          logger: this.logger,
        });
        encoder.on('running', () => this.emit('running'));
        encoder.on('ended', (f) => this.end(f));
        this.encoder = encoder;
        encoder.start();
      }
      this.encoder.write(frame, o.objects());
    });
    this.decoder.on('ended', (f) => this.end(f));
  }

  get pids(): number[] {
    return [...this.decoder.pids, ...(this.encoder?.pids ?? [])];
  }

  start(): void {
    this.decoder.start();
  }

  async stop(): Promise<void> {
    this.over = true;
    await Promise.all([this.decoder.stop(), this.encoder?.stop()]);
  }

  private end(failure: PushFailure): void {
    if (this.over) return;
    this.over = true;
    void Promise.all([this.decoder.stop(), this.encoder?.stop()]).then(() => this.emit('ended', failure));
  }
}
