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
  detect(frame: BgrFrame): Promise<DetectionResult>;
  close(): Promise<void>;
}
