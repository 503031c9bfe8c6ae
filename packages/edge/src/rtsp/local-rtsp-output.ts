import { type Clock, type Logger, silentLogger, systemClock, type TimerHandle } from '@iceberg/common';
import type { CameraConfig, IcebergConfig } from '@iceberg/config';
import type { Annotation } from '@iceberg/vision';
import { backoffDelay } from '../camera/index.ts';
import { AnnotatedPush } from '../live/annotated-push.ts';
import type { LivePush } from '../live/push-process.ts';
import { freeUdpPort, RtspFeed } from './rtsp-feed.ts';
import { RtspServer } from './rtsp-server.ts';

export interface LocalRtspOutputOptions {
  /** Uses `rtspOutput`, the enabled cameras, `ffmpegPath` and `live.push` (the annotated encoder's settings). */
  config: IcebergConfig;
  /** The objects to draw now on a camera's annotated stream (the pipeline's latest tracks). */
  objects: (cameraId: string) => readonly Annotation[];
  pythonPath?: string;
  clock?: Clock;
  logger?: Logger;
}

interface Mount {
  camera: CameraConfig;
  udpPort: number;
  /** Copy mode. */
  feed: RtspFeed | null;
  /** Annotated mode: the running push (a decoder and an x264 encoder), restarted when it ends. */
  push: LivePush | null;
  failures: number;
  restartTimer: TimerHandle | null;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * The device's local RTSP output, as DeepStream's: every enabled camera at
 * rtsp://DEVICE:PORT/CAMERA on the local network, served by GStreamer's RTSP server. Annotated
 * (boxes, labels, track ids drawn on, x264) or the camera's own H.264 copied. Each camera's stream
 * is supervised: a broken one is restarted with backoff while the agent runs.
 */
export class LocalRtspOutput {
  readonly server: RtspServer;
  private readonly mounts = new Map<string, Mount>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private running = false;

  constructor(private readonly o: LocalRtspOutputOptions) {
    const out = o.config.rtspOutput;
    this.clock = o.clock ?? systemClock;
    this.logger = (o.logger ?? silentLogger()).child({ component: 'rtsp-output' });
    this.server = new RtspServer({
      host: out.host,
      port: out.port,
      clock: this.clock,
      logger: this.logger,
      ...(o.pythonPath ? { pythonPath: o.pythonPath } : {}),
    });
  }

  get annotated(): boolean {
    return this.o.config.rtspOutput.annotated;
  }

  /** Pids of the RTSP server and of every feed, for the device's CPU figure. */
  get pids(): number[] {
    const pids = [this.server.pid];
    for (const m of this.mounts.values()) pids.push(m.feed?.pid, ...(m.push?.pids ?? []));
    return pids.filter((p): p is number => p !== undefined);
  }

  /** rtsp://HOST:PORT/CAMERA as reached from this box (or from `host`). */
  url(cameraId: string, host?: string): string {
    return this.server.url(cameraId, host);
  }

  /**
   * Starts the RTSP server and a stream per enabled camera. Rejects when the server cannot run
   * (`ICEBERG_ERR_RTSP_SERVER_MISSING` naming the Debian packages, `ICEBERG_ERR_ADDRESS_IN_USE`);
   * a camera that cannot be read does not: its stream is retried.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.server.start();
      for (const camera of this.o.config.cameras) {
        if (!camera.enabled) continue;
        const udpPort = await freeUdpPort();
        await this.server.addMount(camera.id, udpPort);
        const mount: Mount = { camera, udpPort, feed: null, push: null, failures: 0, restartTimer: null };
        this.mounts.set(camera.id, mount);
        this.launch(mount);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.logger.info(
      { port: this.server.port, cameras: [...this.mounts.keys()], annotated: this.annotated },
      'local RTSP output serving',
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    const stops: Promise<void>[] = [];
    for (const m of this.mounts.values()) {
      if (m.restartTimer) this.clock.clearTimeout(m.restartTimer);
      m.restartTimer = null;
      if (m.feed) stops.push(m.feed.stop());
      if (m.push) stops.push(m.push.stop());
      m.feed = null;
      m.push = null;
    }
    await Promise.all(stops);
    this.mounts.clear();
    await this.server.stop();
  }

  private launch(m: Mount): void {
    m.restartTimer = null;
    if (!this.running) return;
    const { config } = this.o;
    const logger = this.logger.child({ camera: m.camera.id });
    if (!this.annotated) {
      // The feed supervises itself (probe, copy or encode, retry with backoff).
      m.feed = new RtspFeed({
        name: m.camera.id,
        input: m.camera.input,
        udpPort: m.udpPort,
        loop: m.camera.loop,
        rtspTransport: m.camera.rtspTransport,
        ffmpegPath: config.ffmpegPath,
        retry: 'always',
        clock: this.clock,
        logger,
      });
      void m.feed.start();
      return;
    }
    const p = config.live.push;
    const push = new AnnotatedPush({
      camera: m.camera,
      output: [
        '-f',
        'mpegts',
        '-mpegts_flags',
        '+resend_headers',
        `udp://127.0.0.1:${m.udpPort}?pkt_size=1316`,
      ],
      fps: p.annotatedFps,
      maxWidth: p.annotatedMaxWidth,
      preset: p.x264Preset,
      keyframeSeconds: p.keyframeSeconds,
      ffmpegPath: config.ffmpegPath,
      startTimeoutMs: p.startTimeoutSeconds * 1000,
      objects: () => this.o.objects(m.camera.id),
      clock: this.clock,
      logger,
    });
    m.push = push;
    push.on('running', () => {
      if (m.push !== push) return;
      m.failures = 0;
      logger.info('local RTSP stream running (annotated)');
    });
    push.on('ended', (failure) => {
      if (m.push !== push || !this.running) return;
      m.push = null;
      m.failures++;
      const delay = backoffDelay(m.failures, { initialMs: 1_000, maxMs: MAX_BACKOFF_MS });
      logger[m.failures === 1 ? 'warn' : 'debug'](
        { failure, retryInMs: delay },
        'local RTSP stream ended; restarting',
      );
      m.restartTimer = this.clock.setTimeout(() => this.launch(m), delay);
    });
    push.start();
  }
}
