import type { Bus } from '@iceberg/bus';
import type { Logger } from '@iceberg/common';
import type { IcebergConfig } from '@iceberg/config';
import type { ObjectClass } from '@iceberg/contracts';
import { createDetectorPool } from '@iceberg/vision';
import { CameraSource } from './camera/index.ts';
import { EdgeAgent, type EdgeAgentDeps } from './edge-agent.ts';
import { StreamingAgent } from './live/streaming-agent.ts';
import { protectRecordingHandler } from './recording/protect-command.ts';
import { RecordingHttpServer } from './recording/recording-http.ts';
import { RecordingManager } from './recording/recording-manager.ts';
import { LocalRtspOutput } from './rtsp/local-rtsp-output.ts';
import { FileSnapshotStore } from './snapshot-store.ts';

/**
 * What the detectors must report so every camera gets what it asks for: the union of the
 * classes and the lowest score over the detector defaults and every camera's own settings.
 */
export function detectorNeeds(config: IcebergConfig): { classes: ObjectClass[]; minScore: number } {
  const classes = new Set<ObjectClass>(config.detector.classes);
  let minScore = config.detector.minScore;
  for (const camera of config.cameras) {
    for (const c of camera.detect.classes ?? []) classes.add(c);
    if (camera.detect.minScore !== undefined) minScore = Math.min(minScore, camera.detect.minScore);
  }
  return { classes: [...classes], minScore };
}

/** The composition root of the edge: real detectors (worker threads), ffmpeg camera sources, snapshot files. */
export async function createEdgeAgent(
  config: IcebergConfig,
  deps: { bus: Bus; logger: Logger; outboxStats?: EdgeAgentDeps['outboxStats'] },
): Promise<EdgeAgent> {
  const needs = detectorNeeds(config);
  const detectors = await createDetectorPool({
    modelPath: config.detector.model,
    threads: config.detector.threads,
    concurrency: config.detector.concurrency,
    classes: needs.classes,
    minScore: needs.minScore,
    nmsIou: config.detector.nmsIou,
  });
  const sources = new Map<string, CameraSource>();
  const recordings = config.cameras.some((c) => c.enabled)
    ? new RecordingManager(config, {
        publish: (event) => deps.bus.publish('recordings', event),
        logger: deps.logger,
      })
    : null;
  const streaming = new StreamingAgent({
    config,
    bus: deps.bus,
    logger: deps.logger,
    handlers: { ProtectRecording: protectRecordingHandler(recordings) },
  });
  // Distributed playback: the server fetches segments from here (recording.http).
  const mediaEndpoint =
    recordings && config.recording.http.enabled
      ? new RecordingHttpServer({
          config: config.recording.http,
          dataDir: config.dataDir,
          orgId: config.org,
          lookup: (path) => recordings.segmentByPath(path),
          logger: deps.logger,
        })
      : null;
  // rtsp://DEVICE:PORT/CAMERA for every enabled camera, annotated with the latest tracks (or copied).
  const rtspOutput =
    config.rtspOutput.enabled && config.cameras.some((c) => c.enabled)
      ? new LocalRtspOutput({
          config,
          objects: (cameraId) => {
            const fps = config.cameras.find((c) => c.id === cameraId)?.detect.fps ?? 2;
            return streaming.tracks.get(cameraId, Date.now(), Math.max(2000, 2500 / fps));
          },
          logger: deps.logger,
        })
      : null;
  return new EdgeAgent(config, {
    streaming,
    recordings,
    rtspOutput,
    mediaEndpoint,
    bus: deps.bus,
    outboxStats: deps.outboxStats,
    detectors,
    snapshots: new FileSnapshotStore(config.dataDir),
    logger: deps.logger,
    childPids: () => [
      ...[...sources.values()].map((s) => s.pid).filter((p): p is number => p !== undefined),
      ...streaming.pids,
      ...(rtspOutput?.pids ?? []),
    ],
    createSource: (camera) => {
      const recorder = recordings?.recorder(camera.id);
      const source = new CameraSource({
        ...(recorder ? { attemptOutputs: () => recorder.attemptOutputs() } : {}),
        cameraId: camera.id,
        input: camera.input,
        mode: 'live',
        fps: camera.detect.fps,
        loop: camera.loop,
        realtime: camera.realtime,
        rtspTransport: camera.rtspTransport,
        viewMaxWidth: camera.snapshots.maxWidth,
        ffmpegPath: config.ffmpegPath,
        logger: deps.logger.child({ camera: camera.id }),
      });
      recorder?.attach(source);
      sources.set(camera.id, source);
      return source;
    },
  });
}
