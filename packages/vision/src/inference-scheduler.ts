import { type Clock, SampleWindow, systemClock } from '@iceberg/common';
import type { DetectionResult, Detector } from './detector.ts';
import type { BgrFrame } from './types.ts';

export type InferenceOutcome =
  | { status: 'done'; result: DetectionResult; waitedMs: number }
  | { status: 'dropped'; reason: 'superseded' | 'stale' | 'closed' };

export interface SubmitOptions {
  /** When the frame was captured (epoch ms); the age that decides staleness. */
  capturedAt: number;
  /** Live cameras: drop the frame if it waited longer than `maxFrameAgeMs`. Files: never. */
  dropIfStale: boolean;
}

export interface SchedulerOptions {
  maxFrameAgeMs: number;
  /** Window over which load and rate are reported (default 10 s). */
  windowMs?: number;
  clock?: Clock;
}

export interface SchedulerStats {
  workers: number;
  /** Busy share of the workers over the window, 0..1. */
  load: number;
  inferencesPerSecond: number;
  inferenceMsP50: number | null;
  inferenceMsP95: number | null;
  waitMsP95: number | null;
  completed: number;
  dropped: { superseded: number; stale: number };
  pending: number;
}

interface Pending {
  frame: BgrFrame;
  options: SubmitOptions;
  submittedAt: number;
  resolve: (outcome: InferenceOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * One inference scheduler shared by every camera. Each camera holds at most one waiting frame:
 * a newer frame replaces the waiting one (that is dropped, never queued behind), so latency stays
 * bounded and a busy camera cannot crowd out the others. Free detectors take cameras in the order
 * their frames arrived, which is round-robin across cameras. Reports its load.
 */
export class InferenceScheduler {
  private readonly idle: Detector[];
  private readonly pending = new Map<string, Pending>();
  private readonly order: string[] = [];
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly recent: Array<{ end: number; ms: number }> = [];
  private readonly latencies = new SampleWindow(500);
  private readonly waits = new SampleWindow(500);
  private completed = 0;
  private readonly dropped = { superseded: 0, stale: 0 };
  private closed = false;

  constructor(
    private readonly pool: readonly Detector[],
    private readonly options: SchedulerOptions,
  ) {
    if (pool.length === 0) throw new Error('the scheduler needs at least one detector');
    // One entry per slot: a detector that queues internally can be handed a second frame.
    this.idle = pool.flatMap((d) => Array.from({ length: Math.max(1, d.maxInFlight ?? 1) }, () => d));
    this.clock = options.clock ?? systemClock;
    this.windowMs = options.windowMs ?? 10_000;
  }

  submit(sourceId: string, frame: BgrFrame, options: SubmitOptions): Promise<InferenceOutcome> {
    if (this.closed) return Promise.resolve({ status: 'dropped', reason: 'closed' });
    return new Promise((resolve, reject) => {
      const previous = this.pending.get(sourceId);
      if (previous) {
        this.dropped.superseded++;
        previous.resolve({ status: 'dropped', reason: 'superseded' });
      } else {
        this.order.push(sourceId);
      }
      this.pending.set(sourceId, { frame, options, submittedAt: this.clock.now(), resolve, reject });
      this.dispatch();
    });
  }

  stats(): SchedulerStats {
    const now = this.clock.now();
    this.trim(now);
    const busyMs = this.recent.reduce((sum, r) => sum + r.ms, 0);
    const p = (w: SampleWindow, q: number) => (w.count > 0 ? Math.round(w.percentile(q) * 10) / 10 : null);
    return {
      workers: this.pool.length,
      load: Math.min(1, busyMs / (this.windowMs * this.pool.length)),
      inferencesPerSecond: this.recent.length / (this.windowMs / 1000),
      inferenceMsP50: p(this.latencies, 50),
      inferenceMsP95: p(this.latencies, 95),
      waitMsP95: p(this.waits, 95),
      completed: this.completed,
      dropped: { ...this.dropped },
      pending: this.pending.size,
    };
  }

  /** Drops what waits and refuses new frames; inferences under way finish. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.resolve({ status: 'dropped', reason: 'closed' });
    this.pending.clear();
    this.order.length = 0;
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.order.length > 0) {
      const sourceId = this.order.shift()!;
      const job = this.pending.get(sourceId)!;
      this.pending.delete(sourceId);
      const now = this.clock.now();
      if (job.options.dropIfStale && now - job.options.capturedAt > this.options.maxFrameAgeMs) {
        this.dropped.stale++;
        job.resolve({ status: 'dropped', reason: 'stale' });
        continue;
      }
      const detector = this.idle.shift()!;
      void this.run(detector, job, now - job.submittedAt);
    }
  }

  private async run(detector: Detector, job: Pending, waitedMs: number): Promise<void> {
    try {
      const result = await detector.detect(job.frame);
      const end = this.clock.now();
      this.recent.push({ end, ms: result.inferenceMs });
      this.latencies.add(result.inferenceMs);
      this.waits.add(waitedMs);
      this.completed++;
      this.trim(end);
      job.resolve({ status: 'done', result, waitedMs });
    } catch (err) {
      // A detector failure reaches the caller, never vanishes.
      job.reject(err);
    } finally {
      this.idle.push(detector);
      this.dispatch();
    }
  }

  private trim(now: number): void {
    while (this.recent.length > 0 && this.recent[0]!.end < now - this.windowMs) this.recent.shift();
  }
}
