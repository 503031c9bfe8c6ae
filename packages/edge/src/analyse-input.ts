import { BoundedQueue, type Logger, percentile, silentLogger } from '@iceberg/common';
import type { TrackerConfig } from '@iceberg/config';
import type { ObjectClass } from '@iceberg/contracts';
import { annotate, InferenceScheduler, WorkerDetector } from '@iceberg/vision';
import { AnnotatedVideoWriter } from './annotated-video-writer.ts';
import { CameraSource, type SampledFrame } from './camera/index.ts';
import { type AnalysedFrame, CameraPipeline, type PreparedFrame } from './camera-pipeline.ts';

/** Frames decoded ahead of the one being analysed. */
const READ_AHEAD = 3;

export interface AnalyseInputOptions {
  input: string;
  fps: number;
  classes: readonly ObjectClass[];
  minScore: number;
  nmsIou: number;
  /** Skip inference on frames where nothing moved (the edge agent's behaviour). */
  motion: { enabled: boolean; threshold: number; minArea: number; recheckSeconds: number };
  tracker: TrackerConfig;
  modelPath: string;
  threads: number;
  ffmpegPath: string;
  /** Write the frames with boxes, labels and track ids drawn on them to this MP4. */
  annotate?: string | undefined;
  onFrame?: (result: AnalysedFrame) => void;
  logger?: Logger;
}

export interface AnalysisSummary {
  input: string;
  frames: number;
  /** Frames on which inference ran (the others were skipped by motion gating). */
  inferred: number;
  /** Detections per class, summed over frames. */
  objects: Partial<Record<ObjectClass, number>>;
  /** Distinct confirmed tracks per class. */
  tracks: Partial<Record<ObjectClass, number>>;
  inferenceMs: { p50: number | null; p95: number | null };
  /** Wall time of the analysis and frames analysed per second of it. */
  seconds: number;
  framesPerSecond: number;
}

/**
 * Analyses a file or stream once, as fast as the detector allows, without dropping a frame
 * (the source waits for each frame's analysis): `iceberg detect`. The same pipeline as the edge
 * agent, so what it prints is what a camera would publish.
 */
export async function analyseInput(options: AnalyseInputOptions): Promise<AnalysisSummary> {
  const logger = options.logger ?? silentLogger();
  const detector = await WorkerDetector.create({
    modelPath: options.modelPath,
    threads: options.threads,
    classes: options.classes,
    minScore: options.minScore,
    nmsIou: options.nmsIou,
  });
  const scheduler = new InferenceScheduler([detector], { maxFrameAgeMs: Number.MAX_SAFE_INTEGER });
  const pipeline = new CameraPipeline(
    {
      orgId: 'local',
      deviceId: 'cli',
      cameraId: 'input',
      runId: 't',
      classes: options.classes,
      minScore: options.minScore,
      motion: options.motion,
      tracker: options.tracker,
      snapshots: { enabled: false },
      live: false,
    },
    { scheduler, snapshots: null, logger },
  );
  const objects: Partial<Record<ObjectClass, number>> = {};
  const trackIds = new Map<string, ObjectClass>();
  const inferenceMs: number[] = [];
  let writer: AnnotatedVideoWriter | null = null;
  let frames = 0;
  let inferred = 0;

  const finish = async (prepared: PreparedFrame) => {
    const { frame } = prepared;
    const result = await pipeline.complete(prepared);
    if (!result) return; // cannot happen offline: nothing is dropped
    frames++;
    if (result.inferred) {
      inferred++;
      inferenceMs.push(result.detection.inferenceMs ?? 0);
    }
    for (const o of result.detection.objects) {
      objects[o.class] = (objects[o.class] ?? 0) + 1;
      if (o.trackId) trackIds.set(o.trackId, o.class);
    }
    options.onFrame?.(result);
    if (options.annotate) {
      writer ??= new AnnotatedVideoWriter(
        options.annotate,
        { width: frame.view.width, height: frame.view.height },
        options.fps,
        options.ffmpegPath,
      );
      const canvas = {
        width: frame.view.width,
        height: frame.view.height,
        data: new Uint8Array(frame.view.data),
      };
      annotate(canvas, result.step.objects);
      await writer.write(canvas);
    }
  };

  // ffmpeg decodes a few frames ahead while the detector works: a short queue between the two,
  // with back-pressure, so no frame is dropped and memory stays bounded.
  const queue = new BoundedQueue<SampledFrame>(READ_AHEAD);
  const source = new CameraSource({
    cameraId: 'input',
    input: options.input,
    mode: 'offline',
    fps: options.fps,
    realtime: false,
    // The view frame is only drawn on for --annotate: otherwise a thumbnail saves ffmpeg and the pipe ~1 MB a frame.
    viewMaxWidth: options.annotate ? 640 : 64,
    ffmpegPath: options.ffmpegPath,
    logger,
    onFrame: (frame) => queue.push(frame),
  });
  source.on('status', (s) => logger.debug({ state: s.state, problem: s.problem }, 'input status'));
  // Frame n+1's inference is started before frame n is tracked and printed.
  const consumer = (async () => {
    let previous: PreparedFrame | null = null;
    for (let frame = await queue.shift(); frame; frame = await queue.shift()) {
      const current = pipeline.prepare(frame);
      if (previous) await finish(previous);
      previous = current;
    }
    if (previous) await finish(previous);
  })();
  const started = performance.now();
  try {
    source.start();
    await Promise.race([source.done(), consumer]);
    queue.close();
    await consumer;
    if (writer) await (writer as AnnotatedVideoWriter).close();
  } finally {
    queue.close();
    await source.stop();
    scheduler.close();
    await detector.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const tracks: Partial<Record<ObjectClass, number>> = {};
  for (const cls of trackIds.values()) tracks[cls] = (tracks[cls] ?? 0) + 1;
  const round = (v: number) => (Number.isNaN(v) ? null : Math.round(v * 10) / 10);
  return {
    input: options.input,
    frames,
    inferred,
    objects,
    tracks,
    inferenceMs: { p50: round(percentile(inferenceMs, 50)), p95: round(percentile(inferenceMs, 95)) },
    seconds: Math.round(seconds * 100) / 100,
    framesPerSecond: seconds > 0 ? Math.round((frames / seconds) * 10) / 10 : 0,
  };
}
