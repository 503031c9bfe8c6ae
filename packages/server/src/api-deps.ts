import type { Clock, Logger } from '@iceberg/common';
import type { ServerConfig } from '@iceberg/config';
import type { Store } from '@iceberg/store';
import type { UrlSigner } from './auth/url-signer.ts';
import type { LiveSessionService } from './live/live-session.service.ts';
import type { NginxRestreamer } from './live/nginx-restreamer.ts';
import type { WsHub } from './live/ws-hub.ts';
import type { Metrics } from './metrics.ts';
import type { RecordingService } from './services/recording.service.ts';

/** Everything the HTTP API needs, built once by the server's composition root. */
export interface ApiDeps {
  store: Store;
  hub: WsHub;
  metrics: Metrics;
  config: ServerConfig;
  /** Where snapshot references (`snapshots/<camera>/<day>/<track>.jpg`) are resolved. */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Called after a rule of the organisation was created, changed or deleted (the evaluator reloads). */
  onRulesChanged?: (orgId: string) => void;
  /** The built web app (packages/web/dist) to serve at `/`; none: the API alone. */
  webRoot?: string;
  /** How often an open WebSocket re-checks its session (default 30 s; tests shorten it). */
  liveSessionCheckMs?: number;
  /** Called after a camera was created, changed or deleted. */
  onCameraChanged?: (orgId: string, cameraId: string) => void;
  /** Live view sessions (absent: the live routes answer 503). */
  live?: LiveSessionService;
  /** The re-streaming server: HLS under signed URLs and the low-latency relay (absent: those routes answer 503). */
  restream?: NginxRestreamer;
  /** Signs media links (recordings) with the key shared by every instance (absent: a per-process key). */
  mediaSigner?: UrlSigner;
  /** Recordings: list, playback, export (absent: built over the local data directory). */
  recordings?: RecordingService;
  /** ffmpeg for exports (default `ffmpeg`). */
  ffmpegPath?: string;
}
