import { cocoClasses } from '@iceberg/contracts';
import { type Candidate, nmsPerClass } from './nms.ts';
import type { Detection } from './types.ts';

/** NanoDet-g's head: strides, GFL distribution bins per side, input size. */
export const nanodetHead = {
  inputSize: 416,
  strides: [8, 16, 32] as const,
  regMax: 10,
  numClasses: 80,
};

export interface HeadOutput {
  stride: number;
  /** [HW × 80] class probabilities (sigmoid already applied in the graph). */
  scores: Float32Array;
  /** [HW × 4·(regMax+1)] distance distributions for left, top, right, bottom. */
  boxes: Float32Array;
}

export interface DecodeOptions {
  minScore: number;
  nmsIou: number;
  /** Class ids to keep (COCO indices). */
  classIds: readonly number[];
}

/** Expected distance of one side: softmax over the bins, then the mean bin index. */
function sideDistance(boxes: Float32Array, offset: number, bins: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < bins; j++) max = Math.max(max, boxes[offset + j]!);
  let sum = 0;
  let weighted = 0;
  for (let j = 0; j < bins; j++) {
    const e = Math.exp(boxes[offset + j]! - max);
    sum += e;
    weighted += e * j;
  }
  return weighted / sum;
}

/**
 * Turns NanoDet's raw outputs into detections: for every grid cell whose best allowed class
 * passes `minScore`, decode the GFL box (softmax expectation × stride around the cell centre),
 * then per-class NMS. Boxes come out normalised to the input (0..1), which is also normalised
 * to the original frame since the frame was scaled (not letterboxed) to the input size.
 */
export function decodeNanodet(outputs: HeadOutput[], options: DecodeOptions): Detection[] {
  const size = nanodetHead.inputSize;
  const bins = nanodetHead.regMax + 1;
  const nc = nanodetHead.numClasses;
  const candidates: Candidate[] = [];
  for (const { stride, scores, boxes } of outputs) {
    const grid = Math.ceil(size / stride);
    const cells = scores.length / nc;
    for (let i = 0; i < cells; i++) {
      let best = -1;
      let bestScore = options.minScore;
      for (const c of options.classIds) {
        const s = scores[i * nc + c]!;
        if (s >= bestScore) {
          bestScore = s;
          best = c;
        }
      }
      if (best < 0) continue;
      const cx = ((i % grid) + 0.5) * stride;
      const cy = (Math.floor(i / grid) + 0.5) * stride;
      const o = i * 4 * bins;
      const l = sideDistance(boxes, o, bins) * stride;
      const t = sideDistance(boxes, o + bins, bins) * stride;
      const r = sideDistance(boxes, o + 2 * bins, bins) * stride;
      const b = sideDistance(boxes, o + 3 * bins, bins) * stride;
      candidates.push({
        classId: best,
        score: bestScore,
        x1: Math.max(0, cx - l),
        y1: Math.max(0, cy - t),
        x2: Math.min(size, cx + r),
        y2: Math.min(size, cy + b),
      });
    }
  }
  return nmsPerClass(candidates, options.nmsIou)
    .filter((c) => c.x2 - c.x1 >= 1 && c.y2 - c.y1 >= 1)
    .map((c) => ({
      classId: c.classId,
      class: cocoClasses[c.classId]!,
      score: c.score,
      box: [c.x1 / size, c.y1 / size, (c.x2 - c.x1) / size, (c.y2 - c.y1) / size],
    }));
}
