import { hostname } from 'node:os';
import type { Bus } from '@iceberg/bus';
import {
  type Clock,
  errorMessage,
  type Logger,
  silentLogger,
  systemClock,
  TypedEmitter,
} from '@iceberg/common';
import type { CameraConfig, IcebergConfig } from '@iceberg/config';
import type { CameraStatusV1, DetectionFrameV1, DeviceStatusV1, TrackEventV1 } from '@iceberg/contracts';
import { type Detector, InferenceScheduler } from '@iceberg/vision';
import { type AnalysedFrame, type AnalysisFrame, CameraPipeline } from './camera-pipeline.ts';
import { CpuMeter } from './device-metrics.ts';
import type { FrameSource, FrameSourceStatus } from './frame-source.ts';
import type { StreamingAgent } from './live/streaming-agent.ts';
import type { RecordingManager } from './recording/recording-manager.ts';
import type { LocalRtspOutput } from './rtsp/local-rtsp-output.ts';
import type { SnapshotStore } from './snapshot-store.ts';

export const ICEBERG_VERSION = '0.1.0';

export interface EdgeAgentDeps {
  bus: Bus;
  /** The detector pool: `detector.concurrency` detectors of `detector.threads` threads each. */
  detectors: Detector[];
  createSource: (camera: CameraConfig) => FrameSource;
  snapshots: SnapshotStore | null;
  /** Pids of the camera processes, for the device's CPU figure. */
  childPids?: () => readonly number[];
  /** The DVR (recording/): started before the cameras, stopped after them, fed the track events. */
  recordings?: RecordingManager | null;
  /** The store-and-forward outbox's backlog, reported in each heartbeat (devices on Kafka). */
  outboxStats?: () => DeviceStatusV1['outbox'];
  /** Live view on command (live/): started with the cameras, fed their tracks and states. */
  streaming?: StreamingAgent | null;
  /** The local RTSP output (rtsp/): started before the cameras (a start failure is the agent's), stopped with the agent. */
  rtspOutput?: LocalRtspOutput | null;
  /** The recordings' media endpoint (`recording.http`): started after the recordings, its URL in each heartbeat. */
  mediaEndpoint?: { start(): Promise<void>; stop(): Promise<void>; readonly url: string } | null;
  clock?: Clock;
  logger?: Logger;
}

export type EdgeAgentEvents = {
  analysed: (cameraId: string, result: AnalysedFrame) => void;
  cameraStatus: (status: CameraStatusV1) => void;
  /** Something failed and was handled (the component carries on); for logs and tests. */
  problem: (where: string, error: string) => void;
};

interface CameraRuntime {
  camera: CameraConfig;
  source: FrameSource;
  pipeline: CameraPipeline;
  state: FrameSourceStatus['state'];
  busy: boolean;
  waiting: AnalysisFrame | null;
  /** Settles when the frame in analysis (if any) is done. */
  idle: Promise<void>;
}

/**
 * The edge agent: every enabled camera's source and pipeline, one shared inference scheduler,
 * and the bus: detections, track events, camera status and device heartbeats go out. A camera
 * that fails is retried by its source; an error in one frame's analysis is reported and the
 * camera carries on with the next frame.
 */
export class EdgeAgent extends TypedEmitter<EdgeAgentEvents> {
  /** Failures that were handled: messages that could not be published, frames whose analysis failed. */
  readonly failures = { publish: 0, analysis: 0 };
  private readonly cameras = new Map<string, CameraRuntime>();
  private readonly scheduler: InferenceScheduler;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly cpu: CpuMeter;
  private readonly startedAt: number;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private running = false;
  /** The media endpoint's URL while it listens (sent in heartbeats). */
  private mediaUrl: string | undefined;

  constructor(
    private readonly config: IcebergConfig,
    private readonly deps: EdgeAgentDeps,
  ) {
    super();
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger();
    this.scheduler = new InferenceScheduler(deps.detectors, {
      maxFrameAgeMs: config.detector.maxFrameAgeMs,
      clock: this.clock,
    });
    this.cpu = new CpuMeter(deps.childPids);
    this.startedAt = this.clock.now();
    const streaming = deps.streaming;
    if (streaming) {
      this.on('analysed', (cameraId, r) =>
        streaming.onAnalysed(cameraId, r.step.objects, r.frame.capturedAt),
      );
      this.on('cameraStatus', (status) => streaming.onCameraStatus(status));
    }
  }

  get schedulerStats() {
    return this.scheduler.stats();
  }

  pipelineCounters(cameraId: string) {
    return this.cameras.get(cameraId)?.pipeline.counters;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (this.deps.rtspOutput) await this.deps.rtspOutput.start();
    this.running = true;
    const runId = this.clock.now().toString(36);
    // The recorders first: each camera's ffmpeg asks its recorder for an output when it starts.
    if (this.deps.recordings) await this.deps.recordings.start();
    if (this.deps.mediaEndpoint) {
      await this.deps.mediaEndpoint.start();
      this.mediaUrl = this.deps.mediaEndpoint.url;
    }
    for (const camera of this.config.cameras) {
      if (!camera.enabled) continue;
      this.addCamera(camera, runId);
    }
    this.cpu.sample();
    if (this.deps.streaming) await this.deps.streaming.start();
    await this.publishDeviceStatus('running');
    this.heartbeat = setInterval(
      () => void this.publishDeviceStatus('running'),
      this.config.heartbeatSeconds * 1000,
    );
    this.heartbeat.unref();
    this.logger.info({ cameras: this.cameras.size, device: this.config.device.id }, 'edge agent started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    // Live pushes first: their ffmpeg processes are gone before the agent says it stopped.
    if (this.deps.streaming) await this.deps.streaming.stop();
    if (this.deps.rtspOutput) await this.deps.rtspOutput.stop();
    await Promise.all([...this.cameras.values()].map((rt) => rt.source.stop()));
    for (const rt of this.cameras.values()) {
      rt.waiting = null;
      await rt.idle;
      await this.publishEvents(rt.pipeline.finish(this.clock.now()));
    }
    // After the sources: their last segments were closed when ffmpeg stopped.
    if (this.deps.recordings) await this.deps.recordings.stop();
    this.mediaUrl = undefined;
    await this.deps.mediaEndpoint?.stop();
    this.scheduler.close();
    await this.publishDeviceStatus('stopping');
    await Promise.all(this.deps.detectors.map((d) => d.close()));
    this.logger.info('edge agent stopped');
  }

  private addCamera(camera: CameraConfig, runId: string): void {
    const detect = camera.detect;
    const pipeline = new CameraPipeline(
      {
        orgId: this.config.org,
        deviceId: this.config.device.id,
        cameraId: camera.id,
        runId: `${camera.id}-${runId}`,
        classes: detect.classes ?? this.config.detector.classes,
        minScore: detect.minScore ?? this.config.detector.minScore,
        motion: detect.motion,
        tracker: this.config.tracker,
        snapshots: camera.snapshots,
        live: true,
      },
      { scheduler: this.scheduler, snapshots: this.deps.snapshots, clock: this.clock, logger: this.logger },
    );
    const source = this.deps.createSource(camera);
    const rt: CameraRuntime = {
      camera,
      source,
      pipeline,
      state: 'connecting',
      busy: false,
      waiting: null,
      idle: Promise.resolve(),
    };
    source.on('status', (s) => void this.onStatus(rt, s));
    source.on('frame', (f) => this.onFrame(rt, f));
    this.cameras.set(camera.id, rt);
    const recording = this.deps.recordings?.recorder(camera.id) !== undefined && camera.record.mode !== 'off';
    if (detect.enabled || recording) source.start();
    if (!detect.enabled) this.logger.info({ camera: camera.id }, 'detection disabled for this camera');
  }

  /** One frame in analysis per camera; a frame arriving meanwhile waits, replacing an older waiting one. */
  private onFrame(rt: CameraRuntime, frame: AnalysisFrame): void {
    if (!this.running || !rt.camera.detect.enabled) return;
    if (rt.busy) {
      if (rt.waiting) rt.pipeline.counters.dropped++;
      rt.waiting = frame;
      return;
    }
    rt.busy = true;
    rt.idle = this.drain(rt, frame);
  }

  private async drain(rt: CameraRuntime, first: AnalysisFrame): Promise<void> {
    let frame: AnalysisFrame | null = first;
    while (frame) {
      try {
        const result = await rt.pipeline.process(frame);
        if (result) {
          this.emit('analysed', rt.camera.id, result);
          // Track events first: a consumer that sees the frame already knows its tracks (and their snapshots).
          await this.publishEvents(result.events);
          await this.publishDetection(result.detection);
        }
      } catch (err) {
        this.failures.analysis++;
        this.reportProblem(`camera ${rt.camera.id}: analysis`, err);
      }
      frame = rt.waiting;
      rt.waiting = null;
      if (!this.running) frame = null;
    }
    rt.busy = false;
  }

  private async onStatus(rt: CameraRuntime, s: FrameSourceStatus): Promise<void> {
    rt.state = s.state;
    if (s.stream) rt.pipeline.setFrameSize({ width: s.stream.width, height: s.stream.height });
    if (s.state === 'offline') {
      // Objects can no longer be seen: their tracks end now rather than hang on.
      await this.publishEvents(rt.pipeline.finish(s.at));
    }
    const status: CameraStatusV1 = {
      schema: 'camera-status.v1',
      orgId: this.config.org,
      deviceId: this.config.device.id,
      cameraId: rt.camera.id,
      state: s.state,
      at: s.at,
      problem: s.problem,
      attempt: s.attempt,
      retryAt: s.retryAt,
      stream: s.stream,
    };
    const log =
      s.state === 'offline' ? this.logger.warn.bind(this.logger) : this.logger.info.bind(this.logger);
    log(
      { camera: rt.camera.id, state: s.state, problem: s.problem, retryAt: s.retryAt },
      `camera ${rt.camera.id} ${s.state}`,
    );
    this.emit('cameraStatus', status);
    await this.safePublish(() => this.deps.bus.publish('cameraStatus', status), 'camera status');
  }

  private async publishDetection(message: DetectionFrameV1): Promise<void> {
    await this.safePublish(() => this.deps.bus.publish('detections', message), 'detection');
  }

  private async publishEvents(events: TrackEventV1[]): Promise<void> {
    if (events.length > 0) this.deps.recordings?.onTrackEvents(events);
    if (events.length > 0)
      await this.safePublish(() => this.deps.bus.publishMany('tracks', events), 'track events');
  }

  private async publishDeviceStatus(state: DeviceStatusV1['state']): Promise<void> {
    const stats = this.scheduler.stats();
    const status: DeviceStatusV1 = {
      schema: 'device-status.v1',
      orgId: this.config.org,
      deviceId: this.config.device.id,
      at: this.clock.now(),
      state,
      startedAt: this.startedAt,
      version: ICEBERG_VERSION,
      hostname: hostname().slice(0, 255),
      cameras: [...this.cameras.values()].map((rt) => ({ cameraId: rt.camera.id, state: rt.state })),
      detector: {
        load: stats.load,
        inferencesPerSecond: stats.inferencesPerSecond,
        inferenceMsP50: stats.inferenceMsP50,
        inferenceMsP95: stats.inferenceMsP95,
        dropped: stats.dropped.superseded + stats.dropped.stale,
      },
      cpuCores: Math.round(this.cpu.sample() * 1000) / 1000,
      memoryRssBytes: process.memoryUsage.rss(),
      outbox: this.deps.outboxStats?.(),
      ...(this.mediaUrl ? { mediaUrl: this.mediaUrl } : {}),
    };
    await this.safePublish(() => this.deps.bus.publish('deviceStatus', status), 'device status');
  }

  private async safePublish(publish: () => Promise<void>, what: string): Promise<void> {
    try {
      await publish();
    } catch (err) {
      this.failures.publish++;
      this.reportProblem(`publish ${what}`, err);
    }
  }

  private reportProblem(where: string, err: unknown): void {
    const message = errorMessage(err);
    this.logger.error({ where, err: message }, 'edge agent problem');
    this.emit('problem', where, message);
  }
}
