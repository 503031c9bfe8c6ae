import type { Bus } from '@iceberg/bus';
import type { Logger } from '@iceberg/common';
import type { IcebergConfig } from '@iceberg/config';
import type { ObjectClass } from '@iceberg/contracts';
import { createDetectorPool } from '@iceberg/vision';
import { CameraSource } from './camera/index.ts';
import { EdgeAgent } from './edge-agent.ts';
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
  deps: { bus: Bus; logger: Logger },
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
  return new EdgeAgent(config, {
    bus: deps.bus,
    detectors,
    snapshots: new FileSnapshotStore(config.dataDir),
    logger: deps.logger,
    childPids: () => [...sources.values()].map((s) => s.pid).filter((p): p is number => p !== undefined),
    createSource: (camera) => {
      const source = new CameraSource({
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
      sources.set(camera.id, source);
      return source;
    },
  });
}
