import type { BgrFrame } from './types.ts';

/** Per-channel normalisation of NanoDet: (v − mean) / std on B, G, R. */
export const nanodetNormalisation = {
  mean: [103.53, 116.28, 123.675] as const,
  std: [57.375, 57.12, 58.395] as const,
};

/**
 * Turns an interleaved BGR frame (HWC, bytes) into the model's planar float input (NCHW, BGR,
 * normalised). Lookup tables make it one load and one store per byte: ~2 ms for 416×416.
 */
export class Preprocessor {
  private readonly tables: Float32Array[];

  constructor(norm: { mean: readonly number[]; std: readonly number[] } = nanodetNormalisation) {
    this.tables = [0, 1, 2].map((c) => {
      const t = new Float32Array(256);
      for (let v = 0; v < 256; v++) t[v] = (v - norm.mean[c]!) / norm.std[c]!;
      return t;
    });
  }

  toPlanar(frame: BgrFrame, out?: Float32Array<ArrayBuffer>): Float32Array<ArrayBuffer> {
    const plane = frame.width * frame.height;
    if (frame.data.length < plane * 3)
      throw new Error(`frame has ${frame.data.length} bytes, expected ${plane * 3}`);
    const dst = out ?? new Float32Array(plane * 3);
    const [tb, tg, tr] = this.tables as [Float32Array, Float32Array, Float32Array];
    const src = frame.data;
    for (let i = 0, j = 0; i < plane; i++, j += 3) {
      dst[i] = tb[src[j]!]!;
      dst[plane + i] = tg[src[j + 1]!]!;
      dst[2 * plane + i] = tr[src[j + 2]!]!;
    }
    return dst;
  }
}
