import type { Clock, Logger } from '@iceberg/common';
import { TypedEmitter } from '@iceberg/common';
import { type Annotation, annotate, type RgbaFrame } from '@iceberg/vision';
import { type LivePushEvents, PushProcess } from './push-process.ts';

export interface AnnotatedEncoderOptions {
  /** Size of the frames written (all the same). */
  size: { width: number; height: number };
  fps: number;
  /** x264 preset; `ultrafast` costs least CPU. */
  preset: string;
  /** Keyframe interval in seconds (HLS segments and RTSP joins start on keyframes). */
  keyframeSeconds: number;
  /** Any ffmpeg output: `['-f', 'flv', 'rtmp://…']`, `['-f', 'rtsp', 'rtsp://127.0.0.1:8554/door']`, … */
  output: readonly string[];
  ffmpegPath: string;
  startTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Encodes annotated frames: each RGBA frame written gets the given objects (boxes, labels, track
 * ids) drawn onto it, then goes to ffmpeg's libx264 (`-tune zerolatency`, no B-frames) and out to
 * any output. Frames carry the wall-clock time they were written, so the stream keeps real time
 * when the source slows down. A frame that arrives while ffmpeg is still busy with the previous
 * one is dropped, never queued: a live stream must not fall behind.
 *
 * Used by the live push (RTMP) and reusable for any other annotated output (the local RTSP stream).
 */
export class AnnotatedEncoder extends TypedEmitter<LivePushEvents> {
  private readonly process: PushProcess;
  private readonly frameBytes: number;
  private busy = false;
  dropped = 0;
  written = 0;

  constructor(private readonly o: AnnotatedEncoderOptions) {
    super();
    const { width, height } = o.size;
    if (!(width > 0 && height > 0 && width % 2 === 0 && height % 2 === 0))
      throw new RangeError(`frame size must be positive and even, got ${width}×${height}`);
    this.frameBytes = width * height * 4;
    const gop = Math.max(1, Math.round(o.fps * o.keyframeSeconds));
    const fps = String(o.fps);
    this.process = new PushProcess({
      ffmpegPath: o.ffmpegPath,
      stdin: true,
      startTimeoutMs: o.startTimeoutMs ?? 20_000,
      ...(o.clock && { clock: o.clock }),
      ...(o.logger && { logger: o.logger }),
      args: [
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgba',
        '-s',
        `${width}x${height}`,
        '-framerate',
        fps,
        '-use_wallclock_as_timestamps',
        '1',
        '-i',
        'pipe:0',
        '-map',
        '0:v',
        '-fps_mode',
        'cfr',
        '-r',
        fps,
        '-c:v',
        'libx264',
        '-preset',
        o.preset,
        '-tune',
        'zerolatency',
        '-bf',
        '0',
        '-g',
        String(gop),
        '-keyint_min',
        String(gop),
        '-sc_threshold',
        '0',
        '-pix_fmt',
        'yuv420p',
        ...o.output,
      ],
    });
    this.process.on('running', () => this.emit('running'));
    this.process.on('ended', (f) => this.emit('ended', f));
  }

  get pids(): number[] {
    return this.process.pids;
  }

  start(): void {
    this.process.start();
  }

  /**
   * Draws `objects` onto `frame` (in place) and sends it to the encoder. False when it was
   * dropped (the encoder is still busy, or not running).
   */
  write(frame: RgbaFrame, objects: readonly Annotation[]): boolean {
    const stdin = this.process.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return false;
    if (
      frame.width !== this.o.size.width ||
      frame.height !== this.o.size.height ||
      frame.data.length !== this.frameBytes
    )
      throw new RangeError(
        `frame is ${frame.width}×${frame.height}, the encoder takes ${this.o.size.width}×${this.o.size.height}`,
      );
    if (this.busy) {
      this.dropped++;
      return false;
    }
    if (objects.length > 0) annotate(frame, objects);
    this.written++;
    if (!stdin.write(frame.data)) {
      this.busy = true;
      stdin.once('drain', () => {
        this.busy = false;
      });
    }
    return true;
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
