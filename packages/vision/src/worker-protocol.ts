import type { DetectionResult } from './detector.ts';

/** Messages between `WorkerDetector` (main thread) and `detector-worker.ts`. */
export type WorkerRequest =
  | { type: 'detect'; id: number; width: number; height: number; data: Uint8Array }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'fatal'; code: string | null; message: string }
  | { type: 'result'; id: number; result: DetectionResult }
  | { type: 'error'; id: number; code: string | null; message: string };
