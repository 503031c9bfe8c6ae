import type { TypedEmitter } from '@iceberg/common';

/**
 * The re-streaming server as the rest of the server sees it (port). A live session opens a
 * stream; the device commanded to publish gets `publishUrl` (with a key that only it holds);
 * viewers get signed, expiring playback URLs. The adapter is `NginxRestreamer` (Debian's nginx
 * with the RTMP module, HLS served through the API with signed URLs, fMP4 over WebSocket for
 * low latency).
 */
export interface StreamRef {
  orgId: string;
  cameraId: string;
  /** One live session's stream (an Id: letters, digits, . _ -). */
  streamId: string;
}

export interface PlaybackUrls {
  /** HLS playlist (absolute path on the API origin, e.g. `/live/hls/<token>/index.m3u8`). */
  hls: string;
  /** Low-latency fMP4 over WebSocket (path on the API origin, e.g. `/live/ws/<token>`). */
  ws: string;
  expiresAt: number;
}

export type RestreamerEvents = {
  /** The device's publish was accepted (its key matched) and media is arriving. */
  publishStarted: (stream: StreamRef) => void;
  /** The publisher went away. */
  publishEnded: (stream: StreamRef) => void;
};

export interface Restreamer extends TypedEmitter<RestreamerEvents> {
  /** Registers a stream and returns the URL (with its publish key) to hand to the device. Idempotent per streamId. */
  openStream(stream: StreamRef): { publishUrl: string };
  /** Forgets the stream: its key stops working, a running publish is dropped, its HLS files are removed. */
  closeStream(streamId: string): void;
  /** Signed playback URLs for a viewer of the stream's organisation, valid until `expiresAt`. */
  playbackUrls(streamId: string, expiresAt: number): PlaybackUrls;
  isPublishing(streamId: string): boolean;
}
