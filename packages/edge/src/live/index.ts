export { AnnotatedEncoder, type AnnotatedEncoderOptions } from './annotated-encoder.ts';
export { AnnotatedPush, type AnnotatedPushOptions } from './annotated-push.ts';
export { type CopyPushOptions, cameraInputArgs, createCopyPush } from './copy-push.ts';
export { type FfmpegChild, spawnFfmpegChild, stopChild } from './ffmpeg-child.ts';
export { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.ts';
export { LatestTracks } from './latest-tracks.ts';
export {
  classifyPushFailure,
  type LivePush,
  type LivePushEvents,
  type PushFailure,
  PushProcess,
} from './push-process.ts';
export {
  type PushRequest,
  StreamingAgent,
  type StreamingAgentEvents,
  type StreamingAgentOptions,
  type StreamState,
} from './streaming-agent.ts';
