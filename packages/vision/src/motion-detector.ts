import type { BgrFrame, NormBox } from './types.ts';

/**
 * Decides whether a sampled frame shows motion worth an inference. The frame is reduced to a small
 * grayscale grid (box-averaged cells, then a 1-2-1 blur), compared with a running-average background,
 * and the cells whose difference exceeds a threshold are counted.
 */
export interface MotionOptions {
  /** Cell size in pixels: a 416×416 frame becomes a 52×52 grid with 8. */
  cellSize: number;
  /** Background learning rate per analysed frame (0..1): 0.1 forgets a change in about 10–20 frames. */
  alpha: number;
  /** A cell has changed when its gray level differs from the background by more than this (0..255). */
  threshold: number;
  /** Share of changed cells (0..1) from which the frame counts as motion. */
  minArea: number;
  /**
   * Share of changed cells above which the frame is a scene change (camera switched to IR, moved,
   * exposure jumped): the background restarts from this frame and motion is reported once.
   */
  sceneChange: number;
  /**
   * Subtract the median difference before thresholding, so that a uniform brightness shift (auto
   * exposure, a passing cloud) does not look like motion.
   */
  compensateBrightness: boolean;
}

export const defaultMotionOptions: MotionOptions = Object.freeze({
  cellSize: 8,
  alpha: 0.1,
  threshold: 12,
  minArea: 0.002,
  sceneChange: 0.6,
  compensateBrightness: true,
});

export interface MotionResult {
  motion: boolean;
  /** Share of grid cells that changed, 0..1 (1 on the first frame). */
  changed: number;
  /** Bounding boxes of the changed blobs (coarse: whole cells), largest first; the whole frame after a reset. */
  regions: NormBox[];
  /** Why: the first frame, a scene change (background restarted), changed cells, or nothing. */
  reason: 'first' | 'scene-change' | 'motion' | 'still';
}

const MAX_REGIONS = 32;
const WHOLE_FRAME: NormBox = [0, 0, 1, 1];

export class MotionDetector {
  readonly options: Readonly<MotionOptions>;
  private width = 0;
  private height = 0;
  private gw = 0;
  private gh = 0;
  private sums = new Float64Array(0);
  private weights = new Float64Array(0);
  private gray = new Float32Array(0);
  private blurred = new Float32Array(0);
  private scratch = new Float32Array(0);
  private background = new Float32Array(0);
  private mask = new Uint8Array(0);
  private hasBackground = false;

  constructor(options: Partial<MotionOptions> = {}) {
    this.options = Object.freeze({ ...defaultMotionOptions, ...options });
    const { cellSize, alpha, sceneChange } = this.options;
    if (!(Number.isInteger(cellSize) && cellSize >= 1))
      throw new RangeError('cellSize must be a positive integer');
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError('alpha must be in (0, 1]');
    if (!(sceneChange > 0 && sceneChange <= 1)) throw new RangeError('sceneChange must be in (0, 1]');
  }

  /** Forgets the background: the next frame counts as the first. */
  reset(): void {
    this.hasBackground = false;
  }

  /** Analyses the next sampled frame of the camera. */
  update(frame: BgrFrame): MotionResult {
    if (frame.width !== this.width || frame.height !== this.height) this.resize(frame.width, frame.height);
    this.downscale(frame);
    blur121(this.gray, this.scratch, this.blurred, this.gw, this.gh);
    if (!this.hasBackground) {
      this.background.set(this.blurred);
      this.hasBackground = true;
      return { motion: true, changed: 1, regions: [WHOLE_FRAME], reason: 'first' };
    }

    const n = this.gw * this.gh;
    const offset = this.options.compensateBrightness ? medianDifference(this.blurred, this.background) : 0;
    const { threshold, alpha } = this.options;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const d = this.blurred[i]! - this.background[i]! - offset;
      const changed = d > threshold || d < -threshold ? 1 : 0;
      this.mask[i] = changed;
      count += changed;
    }
    const changed = count / n;

    if (changed > this.options.sceneChange) {
      this.background.set(this.blurred);
      return { motion: true, changed, regions: [WHOLE_FRAME], reason: 'scene-change' };
    }
    for (let i = 0; i < n; i++) this.background[i]! += alpha * (this.blurred[i]! - this.background[i]!);
    const motion = count > 0 && changed >= this.options.minArea;
    return { motion, changed, regions: count > 0 ? this.regions() : [], reason: motion ? 'motion' : 'still' };
  }

  private resize(width: number, height: number): void {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new RangeError(`bad frame size ${width}×${height}`);
    }
    const c = this.options.cellSize;
    this.width = width;
    this.height = height;
    this.gw = Math.ceil(width / c);
    this.gh = Math.ceil(height / c);
    const n = this.gw * this.gh;
    this.sums = new Float64Array(n);
    this.weights = new Float64Array(n);
    for (let gy = 0; gy < this.gh; gy++) {
      const rows = Math.min(c, height - gy * c);
      for (let gx = 0; gx < this.gw; gx++)
        this.weights[gy * this.gw + gx] = rows * Math.min(c, width - gx * c) * 256;
    }
    this.gray = new Float32Array(n);
    this.blurred = new Float32Array(n);
    this.scratch = new Float32Array(n);
    this.background = new Float32Array(n);
    this.mask = new Uint8Array(n);
    this.hasBackground = false;
  }

  /** Box-averages the frame's luma (0.114 B + 0.587 G + 0.299 R, in 1/256 steps) into the grid. */
  private downscale(frame: BgrFrame): void {
    const { width, height, data } = frame;
    if (data.length < width * height * 3)
      throw new RangeError('frame data is shorter than width × height × 3');
    const c = this.options.cellSize;
    const gw = this.gw;
    const sums = this.sums;
    sums.fill(0);
    for (let y = 0; y < height; y++) {
      const row = ((y / c) | 0) * gw;
      let p = y * width * 3;
      for (let gx = 0; gx < gw; gx++) {
        const end = Math.min(width, (gx + 1) * c);
        let acc = 0;
        for (let x = gx * c; x < end; x++) {
          acc += 29 * data[p]! + 150 * data[p + 1]! + 77 * data[p + 2]!;
          p += 3;
        }
        sums[row + gx]! += acc;
      }
    }
    const n = gw * this.gh;
    for (let i = 0; i < n; i++) this.gray[i] = sums[i]! / this.weights[i]!;
  }

  /** Bounding boxes of 8-connected blobs of changed cells, bridging gaps of one cell. */
  private regions(): NormBox[] {
    const { gw, gh, mask } = this;
    const n = gw * gh;
    // Dilate by one cell so that the fragments of one walking person join into one blob.
    const grown = new Uint8Array(n);
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        if (!mask[y * gw + x]) continue;
        for (let yy = Math.max(0, y - 1); yy <= Math.min(gh - 1, y + 1); yy++) {
          for (let xx = Math.max(0, x - 1); xx <= Math.min(gw - 1, x + 1); xx++) grown[yy * gw + xx] = 1;
        }
      }
    }
    const seen = new Uint8Array(n);
    const stack = new Int32Array(n);
    const blobs: Array<{ x0: number; y0: number; x1: number; y1: number; cells: number }> = [];
    for (let start = 0; start < n; start++) {
      if (!grown[start] || seen[start]) continue;
      let top = 0;
      stack[top++] = start;
      seen[start] = 1;
      const blob = { x0: gw, y0: gh, x1: -1, y1: -1, cells: 0 };
      while (top > 0) {
        const i = stack[--top]!;
        const x = i % gw;
        const y = (i - x) / gw;
        if (mask[i]) {
          // The box covers the changed cells, not the dilation around them.
          blob.cells++;
          if (x < blob.x0) blob.x0 = x;
          if (x > blob.x1) blob.x1 = x;
          if (y < blob.y0) blob.y0 = y;
          if (y > blob.y1) blob.y1 = y;
        }
        for (let yy = Math.max(0, y - 1); yy <= Math.min(gh - 1, y + 1); yy++) {
          for (let xx = Math.max(0, x - 1); xx <= Math.min(gw - 1, x + 1); xx++) {
            const j = yy * gw + xx;
            if (grown[j] && !seen[j]) {
              seen[j] = 1;
              stack[top++] = j;
            }
          }
        }
      }
      if (blob.cells > 0) blobs.push(blob);
    }
    const c = this.options.cellSize;
    return blobs
      .sort((a, b) => (b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1) - (a.x1 - a.x0 + 1) * (a.y1 - a.y0 + 1))
      .slice(0, MAX_REGIONS)
      .map((b): NormBox => {
        const x = (b.x0 * c) / this.width;
        const y = (b.y0 * c) / this.height;
        return [
          x,
          y,
          Math.min(1, ((b.x1 + 1) * c) / this.width) - x,
          Math.min(1, ((b.y1 + 1) * c) / this.height) - y,
        ];
      });
  }
}

/** Separable 1-2-1 blur with edges repeated (`tmp` is scratch space of the same size). */
function blur121(src: Float32Array, tmp: Float32Array, dst: Float32Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 0; x < w; x++) {
      const l = src[r + Math.max(0, x - 1)]!;
      const m = src[r + x]!;
      const rr = src[r + Math.min(w - 1, x + 1)]!;
      tmp[r + x] = (l + 2 * m + rr) / 4;
    }
  }
  for (let y = 0; y < h; y++) {
    const up = Math.max(0, y - 1) * w;
    const mid = y * w;
    const down = Math.min(h - 1, y + 1) * w;
    for (let x = 0; x < w; x++) dst[mid + x] = (tmp[up + x]! + 2 * tmp[mid + x]! + tmp[down + x]!) / 4;
  }
}

/** Median of (a − b), to the nearest integer, from a histogram over −255..255. */
function medianDifference(a: Float32Array, b: Float32Array): number {
  const hist = new Uint32Array(511);
  const n = a.length;
  for (let i = 0; i < n; i++) hist[Math.round(a[i]! - b[i]!) + 255]!++;
  const half = n / 2;
  let seen = 0;
  for (let k = 0; k < 511; k++) {
    seen += hist[k]!;
    if (seen >= half) return k - 255;
  }
  return 0;
}
