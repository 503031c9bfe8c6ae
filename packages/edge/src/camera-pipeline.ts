import { type Clock, type Logger, silentLogger, systemClock } from '@iceberg/common';
import type { DetectionFrameV1, ObjectClass, SnapshotRefV1, TrackEventV1 } from '@iceberg/contracts';
import {
  type BgrFrame,
  encodeJpeg,
  type InferenceOutcome,
  type InferenceScheduler,
  MotionDetector,
  type RgbaFrame,
  type Track,
  Tracker,
  type TrackerStep,
} from '@iceberg/vision';
import type { SnapshotStore } from './snapshot-store.ts';

/** A sampled frame as the camera source delivers it (both sizes of one instant). */
export interface AnalysisFrame {
  seq: number;
  /** Seconds from the start of the stream. */
  pts: number;
  capturedAt: number;
  detect: BgrFrame;
  view: RgbaFrame;
}

export interface CameraPipelineOptions {
  orgId: string;
  deviceId: string;
  cameraId: string;
  /** Unique per run of this camera's pipeline: track ids are `${runId}-${n}`. */
  runId: string;
  classes: readonly ObjectClass[];
  minScore: number;
  motion: { enabled: boolean; threshold: number; minArea: number; recheckSeconds: number };
  tracker: {
    minHits: number;
    maxAgeSeconds: number;
    stationarySeconds: number;
    stationaryMaxMove: number;
    updateSeconds: number;
  };
  snapshots: { enabled: boolean };
  /** Live sources drop frames that waited too long for the detector; files never do. */
  live: boolean;
}

export interface CameraPipelineDeps {
  scheduler: InferenceScheduler;
  snapshots: SnapshotStore | null;
  clock?: Clock;
  logger?: Logger;
}

/** What one analysed frame produced: the detection message, track events, and the step for drawing. */
export interface AnalysedFrame {
  frame: AnalysisFrame;
  detection: DetectionFrameV1;
  events: TrackEventV1[];
  step: TrackerStep;
  inferred: boolean;
}

/** A frame whose inference (if any) has been started: see `CameraPipeline.prepare`. */
export interface PreparedFrame {
  frame: AnalysisFrame;
  inference: Promise<InferenceOutcome> | null;
}

export interface PipelineCounters {
  frames: number;
  inferred: number;
  gated: number;
  dropped: number;
  snapshots: number;
}

interface TrackBook {
  snapshot: SnapshotRefV1 | null;
  lastSnapshotAt: number;
  lastUpdateSentAt: number;
  updates: number;
  stationary: boolean;
}

/** A new snapshot replaces the old one only when the score is clearly better and not too often. */
const SNAPSHOT_MIN_GAIN = 0.05;
const SNAPSHOT_MIN_INTERVAL_MS = 2000;

/**
 * One camera's analysis: motion gate → shared inference scheduler → tracker → messages.
 * Frames where nothing moved skip inference and carry the tracked objects forward (a parked
 * car stays present); inference still runs every `recheckSeconds` to re-check them.
 */
export class CameraPipeline {
  readonly counters: PipelineCounters = { frames: 0, inferred: 0, gated: 0, dropped: 0, snapshots: 0 };
  private readonly tracker: Tracker;
  private readonly motion: MotionDetector | null;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly books = new Map<string, TrackBook>();
  private readonly classSet: Set<ObjectClass>;
  private lastInferenceAt = Number.NEGATIVE_INFINITY;
  private frameSize: { width: number; height: number } | null = null;

  constructor(
    private readonly options: CameraPipelineOptions,
    private readonly deps: CameraPipelineDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger();
    this.classSet = new Set(options.classes);
    this.tracker = new Tracker({
      idPrefix: options.runId,
      minHits: options.tracker.minHits,
      maxAgeMs: options.tracker.maxAgeSeconds * 1000,
      stationaryAfterMs: options.tracker.stationarySeconds * 1000,
      stationaryMaxMove: options.tracker.stationaryMaxMove,
    });
    this.motion = options.motion.enabled
      ? new MotionDetector({ threshold: options.motion.threshold, minArea: options.motion.minArea })
      : null;
  }

  /** The camera's own resolution (from the stream), reported in detection messages. */
  setFrameSize(size: { width: number; height: number }): void {
    this.frameSize = size;
  }

  /** Analyses one frame; null when the scheduler dropped it for a newer one. */
  async process(frame: AnalysisFrame): Promise<AnalysedFrame | null> {
    return this.complete(this.prepare(frame));
  }

  /**
   * First half of `process`: the motion decision, and the inference started. Offline analysis
   * prepares frame n+1 before completing frame n, so the detector never waits for the tracker.
   * Completing must follow the order of preparing.
   */
  prepare(frame: AnalysisFrame): PreparedFrame {
    this.counters.frames++;
    const at = frame.capturedAt;
    const moved = this.motion ? this.motion.update(frame.detect).motion : true;
    const recheckDue = at - this.lastInferenceAt >= this.options.motion.recheckSeconds * 1000;
    // Objects seen once but not yet confirmed need the next frames analysed, still or not.
    const confirming = this.tracker.tentativeCount > 0;
    if (!(moved || recheckDue || confirming)) return { frame, inference: null };
    this.lastInferenceAt = at;
    const inference = this.deps.scheduler.submit(this.options.cameraId, frame.detect, {
      capturedAt: at,
      dropIfStale: this.options.live,
    });
    inference.catch(() => {}); // handled when completed; not an unhandled rejection meanwhile
    return { frame, inference };
  }

  /** Second half of `process`: tracking, events and the detection message. */
  async complete(prepared: PreparedFrame): Promise<AnalysedFrame | null> {
    const { frame } = prepared;
    const at = frame.capturedAt;
    let step: TrackerStep;
    let inferenceMs: number | null = null;
    if (prepared.inference) {
      const outcome = await prepared.inference;
      if (outcome.status === 'dropped') {
        this.counters.dropped++;
        return null;
      }
      this.counters.inferred++;
      inferenceMs = Math.round(outcome.result.inferenceMs * 10) / 10;
      const wanted = outcome.result.detections.filter(
        (d) => this.classSet.has(d.class) && d.score >= this.options.minScore,
      );
      step = this.tracker.update(wanted, at);
    } else {
      this.counters.gated++;
      step = this.tracker.carry(at);
    }
    const events = await this.trackEvents(step, frame);
    const detection: DetectionFrameV1 = {
      schema: 'detection.v1',
      orgId: this.options.orgId,
      deviceId: this.options.deviceId,
      cameraId: this.options.cameraId,
      seq: frame.seq,
      capturedAt: at,
      frame: this.frameSize ?? { width: frame.view.width, height: frame.view.height },
      inferred: inferenceMs !== null,
      inferenceMs,
      objects: step.objects.map((o) => ({
        trackId: o.trackId,
        class: o.class,
        score: round(o.score, 4),
        box: roundBox(o.box),
      })),
    };
    return { frame, detection, events, step, inferred: inferenceMs !== null };
  }

  /** Ends every track (the camera stops): their TrackEnded events. */
  finish(at = this.clock.now()): TrackEventV1[] {
    return this.tracker.endAll(at).map((t) => this.event('TrackEnded', t, at));
  }

  private async trackEvents(step: TrackerStep, frame: AnalysisFrame): Promise<TrackEventV1[]> {
    const at = step.at;
    const events: TrackEventV1[] = [];
    for (const t of step.started) {
      const book: TrackBook = {
        snapshot: null,
        lastSnapshotAt: Number.NEGATIVE_INFINITY,
        lastUpdateSentAt: at,
        updates: 0,
        stationary: t.stationary,
      };
      this.books.set(t.id, book);
      await this.maybeSnapshot(t, book, frame);
      events.push(this.event('TrackStarted', t, at));
    }
    for (const t of step.updated) {
      const book = this.books.get(t.id);
      if (!book) continue;
      const improved = await this.maybeSnapshot(t, book, frame);
      const stationaryChanged = t.stationary !== book.stationary;
      book.stationary = t.stationary;
      if (
        improved ||
        stationaryChanged ||
        at - book.lastUpdateSentAt >= this.options.tracker.updateSeconds * 1000
      ) {
        book.lastUpdateSentAt = at;
        events.push(this.event('TrackUpdated', t, at));
      }
    }
    for (const t of step.ended) events.push(this.event('TrackEnded', t, at));
    return events;
  }

  private event(type: TrackEventV1['type'], t: Track, at: number): TrackEventV1 {
    const book = this.books.get(t.id);
    let n = 0;
    if (type === 'TrackUpdated' && book) n = book.updates++;
    if (type === 'TrackEnded') this.books.delete(t.id);
    const base = {
      schema: 'track.v1' as const,
      orgId: this.options.orgId,
      deviceId: this.options.deviceId,
      cameraId: this.options.cameraId,
      trackId: t.id,
      eventId: `${t.id}:${type}:${n}`,
      at,
      class: t.class,
      score: round(t.bestScore, 4),
      box: roundBox(t.box),
      firstSeenAt: t.firstSeenAt,
      lastSeenAt: t.lastSeenAt,
      stationary: t.stationary,
      snapshot: book?.snapshot ?? null,
    };
    return type === 'TrackEnded' ? { ...base, type, hits: Math.max(1, t.hits) } : { ...base, type };
  }

  /** Stores a new best snapshot of a track when its score clearly improved; true when it did. */
  private async maybeSnapshot(t: Track, book: TrackBook, frame: AnalysisFrame): Promise<boolean> {
    if (!this.options.snapshots.enabled || !this.deps.snapshots) return false;
    const better = !book.snapshot || t.score >= book.snapshot.score + SNAPSHOT_MIN_GAIN;
    if (!better || frame.capturedAt - book.lastSnapshotAt < SNAPSHOT_MIN_INTERVAL_MS) return false;
    book.lastSnapshotAt = frame.capturedAt;
    try {
      const jpeg = await encodeJpeg(frame.view, 80);
      const ref = await this.deps.snapshots.save(
        this.options.orgId,
        this.options.cameraId,
        t.id,
        jpeg,
        frame.capturedAt,
      );
      book.snapshot = {
        ref,
        capturedAt: frame.capturedAt,
        score: round(t.score, 4),
        box: roundBox(t.box),
        width: frame.view.width,
        height: frame.view.height,
      };
      this.counters.snapshots++;
      return true;
    } catch (err) {
      // A full disk must not stop detection: the event goes out without a new snapshot.
      this.logger.warn({ camera: this.options.cameraId, err: (err as Error).message }, 'snapshot not saved');
      return false;
    }
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function roundBox(b: readonly [number, number, number, number]): [number, number, number, number] {
  const x = Math.min(1, Math.max(0, round(b[0], 5)));
  const y = Math.min(1, Math.max(0, round(b[1], 5)));
  return [x, y, round(Math.max(0, Math.min(1 - x, b[2])), 5), round(Math.max(0, Math.min(1 - y, b[3])), 5)];
}
