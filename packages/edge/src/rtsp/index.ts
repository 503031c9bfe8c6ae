export { LocalRtspOutput, type LocalRtspOutputOptions } from './local-rtsp-output.ts';
export {
  type FeedState,
  type FeedStatus,
  type FeedVideoMode,
  freeUdpPort,
  type ProbeOptions,
  probeVideo,
  RtspFeed,
  type RtspFeedEvents,
  type RtspFeedOptions,
} from './rtsp-feed.ts';
export {
  DEFAULT_PYTHON,
  MOUNT_NAME,
  RTSP_DEBIAN_PACKAGES,
  RTSP_LAUNCHER,
  RtspServer,
  type RtspServerEvents,
  type RtspServerOptions,
} from './rtsp-server.ts';
