export { type BackoffOptions, backoffDelay } from './backoff.ts';
export {
  CameraSource,
  type CameraSourceEvents,
  type CameraSourceMode,
  type CameraSourceOptions,
  type CameraSourceResult,
  type CameraSourceStatus,
  type SampledFrame,
  type StreamInfo,
} from './camera-source.ts';
export {
  buildFfmpegArgs,
  DETECT_SIZE,
  type FfmpegArgsOptions,
  type V4l2Options,
} from './ffmpeg-args.ts';
export {
  classifyFfmpegExit,
  classifyFfmpegLine,
  type FfmpegExitContext,
  makeProblem,
  problemToError,
} from './ffmpeg-errors.ts';
export {
  type FfmpegLogLine,
  parseLogLine,
  parseVideoStreamLine,
  type VideoStreamInfo,
} from './ffmpeg-log.ts';
export {
  type FfmpegExit,
  type FfmpegProcess,
  type SpawnFfmpeg,
  spawnFfmpeg,
  terminate,
} from './ffmpeg-process.ts';
export { FrameAssembler, type FramePair, FrameReader } from './frame-reader.ts';
export { type ClassifiedInput, classifyInput, type InputKind, redactText, redactUrl } from './input-kind.ts';
