import type { CameraProblemV1, CameraState } from '@iceberg/contracts';
import type { AnalysisFrame } from './camera-pipeline.ts';

/** A camera's state as its source reports it (the wire `camera-status.v1` minus its origin). */
export interface FrameSourceStatus {
  state: CameraState;
  at: number;
  problem: CameraProblemV1 | null;
  attempt: number;
  retryAt: number | null;
  stream: { width: number; height: number; codec: string; fps: number } | null;
}

/**
 * The FrameSource port: a camera delivering sampled frames and its changes of state. The
 * adapter is the ffmpeg camera source (`camera/camera-source.ts`); tests may use others.
 */
export interface FrameSource {
  on(event: 'status', listener: (status: FrameSourceStatus) => void): unknown;
  on(event: 'frame', listener: (frame: AnalysisFrame) => void): unknown;
  start(): void;
  stop(): Promise<void>;
}
