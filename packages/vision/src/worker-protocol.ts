import type { DetectionResult } from './detector.ts';

/** Messages between `WorkerDetector` (main thread) and `detector-worker.ts`. */
/** `input` is the normalised planar tensor (NCHW): pre-processing runs on the sender's thread, off the inference path. */
export type WorkerRequest =
  | { type: 'detect'; id: number; input: Float32Array<ArrayBuffer> }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'fatal'; code: string | null; message: string }
  | { type: 'result'; id: number; result: DetectionResult }
  | { type: 'error'; id: number; code: string | null; message: string };
