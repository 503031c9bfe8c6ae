import type { BgrFrame, RgbaFrame } from '@iceberg/vision';
import { DETECT_SIZE } from './ffmpeg-args.ts';

/** The two pictures of one sampled instant. */
export interface FramePair {
  detect: BgrFrame;
  view: RgbaFrame;
}

/**
 * Cuts a byte stream of raw frames of a fixed size into frames. A frame lying whole inside one
 * chunk is a view of that chunk (no copy); a frame split across chunks is copied once into a
 * buffer of its own.
 */
export class FrameAssembler {
  private current: Buffer | null = null;
  private filled = 0;

  constructor(
    readonly frameSize: number,
    private readonly onFrame: (data: Uint8Array) => void,
  ) {
    if (!(Number.isInteger(frameSize) && frameSize > 0)) throw new RangeError(`bad frame size ${frameSize}`);
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.current === null) {
        if (chunk.length - offset >= this.frameSize) {
          this.onFrame(chunk.subarray(offset, offset + this.frameSize));
          offset += this.frameSize;
          continue;
        }
        this.current = Buffer.allocUnsafeSlow(this.frameSize);
        this.filled = 0;
      }
      const n = Math.min(this.frameSize - this.filled, chunk.length - offset);
      this.current.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameSize) {
        const frame = this.current;
        this.current = null;
        this.onFrame(frame);
      }
    }
  }

  /** Bytes of a frame begun but not complete. */
  get partialBytes(): number {
    return this.current === null ? 0 : this.filled;
  }
}

export interface FrameReaderOptions {
  onPair: (pair: FramePair) => void;
  /** Called once when the view stream cannot be cut (its size never became known). */
  onError?: (err: Error) => void;
  /** View bytes kept while the view size is still unknown before giving up. Default 64 MiB. */
  maxUnsizedViewBytes?: number;
}

/**
 * Turns the bytes of pipe:1 (416×416 BGR) and pipe:3 (RGBA of a size known only once ffmpeg has
 * reported it) into pairs: the n-th detection frame with the n-th view frame, in order. View bytes
 * that arrive before the size is known are held, not cut.
 */
export class FrameReader {
  private readonly detectAssembler: FrameAssembler;
  private viewAssembler: FrameAssembler | null = null;
  private viewWidth = 0;
  private viewHeight = 0;
  private readonly unsized: Uint8Array[] = [];
  private unsizedBytes = 0;
  private readonly detects: BgrFrame[] = [];
  private readonly views: RgbaFrame[] = [];
  private failed = false;
  private pairs = 0;

  constructor(private readonly options: FrameReaderOptions) {
    this.detectAssembler = new FrameAssembler(DETECT_SIZE * DETECT_SIZE * 3, (data) => {
      this.detects.push({ width: DETECT_SIZE, height: DETECT_SIZE, data });
      this.drain();
    });
  }

  /** The view frames' size, from ffmpeg's `Output #1` dump. Set once; later calls must agree. */
  setViewSize(width: number, height: number): void {
    if (this.viewAssembler) {
      if (width !== this.viewWidth || height !== this.viewHeight)
        this.fail(
          new Error(`view size changed from ${this.viewWidth}x${this.viewHeight} to ${width}x${height}`),
        );
      return;
    }
    this.viewWidth = width;
    this.viewHeight = height;
    this.viewAssembler = new FrameAssembler(width * height * 4, (data) => {
      this.views.push({ width, height, data });
      this.drain();
    });
    const held = this.unsized.splice(0);
    this.unsizedBytes = 0;
    for (const chunk of held) this.viewAssembler.push(chunk);
  }

  get viewSize(): { width: number; height: number } | null {
    return this.viewAssembler ? { width: this.viewWidth, height: this.viewHeight } : null;
  }

  /** Pairs emitted so far. */
  get count(): number {
    return this.pairs;
  }

  pushDetect(chunk: Uint8Array): void {
    if (!this.failed) this.detectAssembler.push(chunk);
  }

  pushView(chunk: Uint8Array): void {
    if (this.failed) return;
    if (this.viewAssembler) {
      this.viewAssembler.push(chunk);
      return;
    }
    this.unsized.push(chunk);
    this.unsizedBytes += chunk.length;
    const max = this.options.maxUnsizedViewBytes ?? 64 * 1024 * 1024;
    if (this.unsizedBytes > max)
      this.fail(
        new Error(`the view frames' size was not reported by ffmpeg after ${this.unsizedBytes} bytes`),
      );
  }

  private drain(): void {
    while (this.detects.length > 0 && this.views.length > 0 && !this.failed) {
      const detect = this.detects.shift()!;
      const view = this.views.shift()!;
      this.pairs++;
      this.options.onPair({ detect, view });
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.unsized.length = 0;
    this.detects.length = 0;
    this.views.length = 0;
    this.options.onError?.(err);
  }
}
