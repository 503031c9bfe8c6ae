import type { BgrFrame, Detection } from './types.ts';

export interface DetectionResult {
  detections: Detection[];
  /** Wall time of the inference itself (not of waiting for it). */
  inferenceMs: number;
}

/**
 * The Detector port: one frame of `inputSize` in, objects out. Adapters: `OnnxDetector`
 * (NanoDet-g on ONNX Runtime). A detector runs one inference at a time; the scheduler keeps a
 * pool of them for concurrency.
 */
export interface Detector {
  readonly name: string;
  readonly inputSize: { width: number; height: number };
  /**
   * Calls the detector accepts at once (default 1). A detector that queues internally (a worker)
   * takes 2, so the next frame is prepared and handed over while the current one runs.
   */
  readonly maxInFlight?: number;
  detect(frame: BgrFrame): Promise<DetectionResult>;
  close(): Promise<void>;
}
