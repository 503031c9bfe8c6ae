import type { ObjectClass } from '@iceberg/contracts';
import { boxCentre, boxFromCentre, clampBox, iou, isFiniteBox } from './box-geometry.ts';
import { solveAssignment } from './hungarian.ts';
import type { Detection, NormBox } from './types.ts';

/** Options of {@link Tracker}; see {@link defaultTrackerOptions} for the defaults. */
export interface TrackerOptions {
  /** Ids are `${idPrefix}-${n}`, n = 1, 2, 3… in order of confirmation. Make it unique per run. */
  idPrefix: string;
  /** Consecutive matched frames before a track is confirmed, gets an id and is published (≥ 1). */
  minHits: number;
  /**
   * A confirmed track unmatched for this long ends, counted in time of analysed frames (the time of frames
   * carried by `carry()` does not count).
   */
  maxAgeMs: number;
  /**
   * The same for a track that is `stationary` when it stops being matched: a parked car whose detection
   * flickers keeps its id through gaps this long. The larger of the two ages applies.
   */
  stationaryMaxAgeMs: number;
  /**
   * A track and a detection overlapping at least this much (IoU of predicted box and detection) may match
   * even when the motion model thinks the jump unlikely. Pairs below it must pass the motion gate.
   */
  iouThreshold: number;
  /** A track whose centre stays within `stationaryMaxMove` for this long is `stationary`. */
  stationaryAfterMs: number;
  /**
   * Normalised centre distance (Euclidean on 0..1 coordinates) still counted as "not moving"; for a large
   * object, 15% of its size if that is more (the detector's boxes jitter by about half that).
   */
  stationaryMaxMove: number;
  /** Match car/truck/bus (and bicycle/motorcycle) with each other; the track's class is then the best-voted one. */
  matchClassFamilies: boolean;
}

export const defaultTrackerOptions: Omit<TrackerOptions, 'idPrefix'> = Object.freeze({
  minHits: 3,
  maxAgeMs: 3000,
  stationaryMaxAgeMs: 30_000,
  iouThreshold: 0.3,
  stationaryAfterMs: 10_000,
  stationaryMaxMove: 0.02,
  matchClassFamilies: true,
});

/** A read-only snapshot of a track. */
export interface Track {
  /** `${idPrefix}-${n}`; the empty string while the track is tentative (tentative tracks are never handed out). */
  id: string;
  /** The class with the highest summed score among this track's detections. */
  class: ObjectClass;
  /** Score of the last matched detection. */
  score: number;
  bestScore: number;
  /** The last matched detection's box. */
  box: NormBox;
  /** Where the motion model puts the object at the time of the last step. */
  predicted: NormBox;
  firstSeenAt: number;
  lastSeenAt: number;
  /** Number of analysed frames in which the object was matched. */
  hits: number;
  confirmed: boolean;
  stationary: boolean;
}

/** One object to publish for a frame (the shape of `DetectedObjectV1`). */
export interface TrackedObject {
  /** The confirmed track's id, or null for a detection not (yet) part of a confirmed track. */
  trackId: string | null;
  class: ObjectClass;
  score: number;
  box: NormBox;
}

export interface TrackerStep {
  at: number;
  /**
   * What to publish for this frame. After `update`: one entry per usable detection (finite box with some area
   * left after clipping to the frame), in the order given, box clipped, with the confirmed track's id (and
   * its voted class) or `trackId: null`; confirmed tracks that missed this frame (coasting) are not listed.
   * After `carry`: every confirmed track (coasting ones too) at its last box.
   */
  objects: TrackedObject[];
  /** Tracks confirmed in this step (each appears here exactly once in its life). */
  started: Track[];
  /**
   * After `update`: confirmed tracks matched in this step, except those in `started`.
   * After `carry`: tracks whose `stationary` flag changed (time passed with nothing moving).
   */
  updated: Track[];
  /** Confirmed tracks that ended in this step (each appears here exactly once in its life). */
  ended: Track[];
}

/** Constants of the motion model, in the object's own size (its width for x, its height for y) and seconds. */
const MODEL = {
  /** Detector jitter of the centre and of the size, per measurement. */
  measurePos: 0.1,
  measureSize: 0.1,
  /**
   * Unmodelled acceleration, sizes per s². Kept small so that gates stay tight in crowds: sharp stops and
   * turns are caught by recovery (below) rather than by a wide motion gate.
   */
  accelPos: 1,
  accelSize: 0.5,
  /** What a new object's speed may be before its second sighting, sizes per s (a side-on walker: ~3 widths/s). */
  initialSpeed: 3,
  initialGrowth: 0.5,
  /** Motion gate, in standard deviations of the predicted centre (chi-square, 2 d.o.f., 99%: 3.03). */
  gate: 3.03,
  /** Weight of (1 − IoU) in the cost; the rest goes to the gated centre distance. */
  iouWeight: 0.5,
  /** Recovery: how far (in own sizes) from its last box a lost track may find its object again. */
  recoverRadius: 1.5,
  /** Centre jitter (share of the object's size) that never counts as moving, however large the object. */
  stationaryJitter: 0.15,
  /** Size change between prediction and detection beyond which a match is impossible (per axis). */
  maxSizeRatio: 4,
  /** Smallest size used for scaling noises, normalised. */
  minSize: 0.004,
} as const;

const FAMILIES: Partial<Record<ObjectClass, string>> = {
  car: 'vehicle',
  truck: 'vehicle',
  bus: 'vehicle',
  bicycle: 'two-wheeler',
  motorcycle: 'two-wheeler',
};

/** Constant-velocity Kalman filter on one coordinate: state [position, velocity], position measured. */
class AxisFilter {
  p: number;
  v = 0;
  private pp: number;
  private pv = 0;
  private vv: number;

  constructor(z: number, posStd: number, velStd: number) {
    this.p = z;
    this.pp = posStd * posStd;
    this.vv = velStd * velStd;
  }

  /** Moves the state dt seconds on; accelStd is the white-noise acceleration (piecewise constant per step). */
  predict(dt: number, accelStd: number): void {
    if (dt <= 0) return;
    const q = accelStd * accelStd;
    const dt2 = dt * dt;
    this.p += this.v * dt;
    const pp = this.pp + 2 * dt * this.pv + dt2 * this.vv + (q * dt2 * dt2) / 4;
    const pv = this.pv + dt * this.vv + (q * dt2 * dt) / 2;
    const vv = this.vv + q * dt2;
    this.pp = pp;
    this.pv = pv;
    this.vv = vv;
  }

  /** Variance of (measurement − predicted position). */
  innovationVariance(measureStd: number): number {
    return this.pp + measureStd * measureStd;
  }

  update(z: number, measureStd: number): void {
    const s = this.innovationVariance(measureStd);
    const k0 = this.pp / s;
    const k1 = this.pv / s;
    const y = z - this.p;
    this.p += k0 * y;
    this.v += k1 * y;
    const pp = (1 - k0) * this.pp;
    const pv = (1 - k0) * this.pv;
    const vv = this.vv - k1 * this.pv;
    this.pp = pp;
    this.pv = pv;
    this.vv = vv;
  }
}

/** The motion model of one object: centre x/y, width, height and their velocities. */
class BoxFilter {
  private readonly cx: AxisFilter;
  private readonly cy: AxisFilter;
  private readonly w: AxisFilter;
  private readonly h: AxisFilter;
  private t: number;

  constructor(box: NormBox, at: number) {
    const [cx, cy] = boxCentre(box);
    const sx = Math.max(box[2], MODEL.minSize);
    const sy = Math.max(box[3], MODEL.minSize);
    this.cx = new AxisFilter(cx, MODEL.measurePos * sx, MODEL.initialSpeed * sx);
    this.cy = new AxisFilter(cy, MODEL.measurePos * sy, MODEL.initialSpeed * sy);
    this.w = new AxisFilter(box[2], MODEL.measureSize * sx, MODEL.initialGrowth * sx);
    this.h = new AxisFilter(box[3], MODEL.measureSize * sy, MODEL.initialGrowth * sy);
    this.t = at;
  }

  private get sx(): number {
    return Math.max(this.w.p, MODEL.minSize);
  }

  private get sy(): number {
    return Math.max(this.h.p, MODEL.minSize);
  }

  predict(at: number): void {
    const dt = Math.max(0, at - this.t) / 1000;
    this.t = Math.max(this.t, at);
    const { sx, sy } = this;
    this.cx.predict(dt, MODEL.accelPos * sx);
    this.cy.predict(dt, MODEL.accelPos * sy);
    this.w.predict(dt, MODEL.accelSize * sx);
    this.h.predict(dt, MODEL.accelSize * sy);
    this.w.p = Math.max(this.w.p, MODEL.minSize);
    this.h.p = Math.max(this.h.p, MODEL.minSize);
  }

  /** Moves the filter's clock without moving the object (time that passed while nothing moved). */
  freeze(at: number): void {
    this.t = Math.max(this.t, at);
  }

  update(box: NormBox): void {
    const [cx, cy] = boxCentre(box);
    const sx = Math.max(box[2], MODEL.minSize);
    const sy = Math.max(box[3], MODEL.minSize);
    this.cx.update(cx, MODEL.measurePos * sx);
    this.cy.update(cy, MODEL.measurePos * sy);
    this.w.update(box[2], MODEL.measureSize * sx);
    this.h.update(box[3], MODEL.measureSize * sy);
    this.w.p = Math.max(this.w.p, MODEL.minSize);
    this.h.p = Math.max(this.h.p, MODEL.minSize);
  }

  box(): NormBox {
    return boxFromCentre(this.cx.p, this.cy.p, this.w.p, this.h.p);
  }

  centre(): [number, number] {
    return [this.cx.p, this.cy.p];
  }

  /** Squared Mahalanobis distance of a detection's centre from the predicted centre. */
  centreDistance2(box: NormBox): number {
    const [cx, cy] = boxCentre(box);
    const dx = cx - this.cx.p;
    const dy = cy - this.cy.p;
    const sx = Math.max(box[2], MODEL.minSize);
    const sy = Math.max(box[3], MODEL.minSize);
    return (
      (dx * dx) / this.cx.innovationVariance(MODEL.measurePos * sx) +
      (dy * dy) / this.cy.innovationVariance(MODEL.measurePos * sy)
    );
  }
}

interface TrackState {
  id: string;
  family: string;
  votes: Map<ObjectClass, number>;
  class: ObjectClass;
  score: number;
  bestScore: number;
  box: NormBox;
  filter: BoxFilter;
  firstSeenAt: number;
  lastSeenAt: number;
  hits: number;
  /** Analysed time since the last match, in ms. */
  missedMs: number;
  stationary: boolean;
  anchor: [number, number];
  anchorAt: number;
}

/**
 * A SORT-style multi-object tracker for one camera. Pure: no clock, no I/O; time comes in as the `at`
 * (milliseconds) of each analysed frame, which may be irregular.
 *
 * - Motion: a constant-velocity Kalman filter per object on centre x/y, width and height (noises scaled
 *   by the object's own size), predicted to each frame's time.
 * - Association, in three Hungarian rounds: confirmed tracks against their predictions (cost: IoU and
 *   a Mahalanobis-gated centre distance; a pair must pass the gate or overlap by `iouThreshold`), then
 *   confirmed tracks the motion model lost against their last box (an object that stopped or turned,
 *   within 1.5 own sizes), then tentative tracks. Classes never mix (except within car/truck/bus and
 *   bicycle/motorcycle when `matchClassFamilies`).
 * - Life: an unmatched detection starts a tentative track; `minHits` consecutive matches confirm it and
 *   give it the next id; a tentative track that misses a frame is dropped; a confirmed track ends after
 *   `maxAgeMs` of analysed time without a match.
 */
export class Tracker {
  readonly options: Readonly<TrackerOptions>;
  private confirmed: TrackState[] = [];
  private tentative: TrackState[] = [];
  private nextNumber = 1;
  private lastAt: number | null = null;

  constructor(options: Pick<TrackerOptions, 'idPrefix'> & Partial<TrackerOptions>) {
    this.options = Object.freeze({ ...defaultTrackerOptions, ...options });
    if (!(this.options.minHits >= 1)) throw new RangeError('minHits must be at least 1');
  }

  /** Feeds the detections of one analysed frame taken at `at` ms. */
  update(detections: readonly Detection[], at: number): TrackerStep {
    const elapsed = this.lastAt === null ? 0 : Math.max(0, at - this.lastAt);
    this.lastAt = this.lastAt === null ? at : Math.max(this.lastAt, at);
    const step: TrackerStep = { at, objects: [], started: [], updated: [], ended: [] };

    const dets = detections
      .filter((d) => isFiniteBox(d.box) && Number.isFinite(d.score))
      .map((d) => ({ ...d, box: clampBox(d.box) }))
      .filter((d) => d.box[2] > 0 && d.box[3] > 0);
    for (const t of this.confirmed) t.filter.predict(at);
    for (const t of this.tentative) t.filter.predict(at);

    // Confirmed tracks choose first, so a new, loosely gated tentative track never steals their object.
    const owner = new Array<TrackState | null>(dets.length).fill(null);
    const byMotion = this.associate(this.confirmed, dets, owner, (t, d) => this.motionCost(t, d));
    // A confirmed track the motion model lost (the object stopped or turned) may take a detection close to
    // where it was last seen; its motion model then restarts from that detection.
    const lost = this.confirmed.filter((t) => !byMotion.has(t));
    const recovered = this.associate(lost, dets, owner, (t, d) => this.recoveryCost(t, d));
    const matchedTentative = this.associate(this.tentative, dets, owner, (t, d) => this.motionCost(t, d));
    const matchedConfirmed = new Set([...byMotion, ...recovered]);

    for (const [i, det] of dets.entries()) {
      const t = owner[i];
      if (t) this.absorb(t, det, at, recovered.has(t));
    }

    // Confirmed tracks: coast while unmatched, end after maxAgeMs of analysed time.
    const confirmed: TrackState[] = [];
    for (const t of this.confirmed) {
      if (matchedConfirmed.has(t)) {
        step.updated.push(snapshot(t));
        confirmed.push(t);
        continue;
      }
      t.missedMs += elapsed;
      const maxAge = t.stationary
        ? Math.max(this.options.maxAgeMs, this.options.stationaryMaxAgeMs)
        : this.options.maxAgeMs;
      if (t.missedMs >= maxAge) step.ended.push(snapshot(t));
      else confirmed.push(t);
    }
    this.confirmed = confirmed;

    // Tentative tracks: confirmed after minHits consecutive matches, dropped on their first miss.
    const tentative: TrackState[] = [];
    for (const t of this.tentative) {
      if (!matchedTentative.has(t)) continue;
      if (t.hits >= this.options.minHits) {
        this.confirm(t);
        step.started.push(snapshot(t));
      } else tentative.push(t);
    }
    this.tentative = tentative;

    // Unmatched detections start tentative tracks (confirmed at once when minHits is 1).
    for (const [i, det] of dets.entries()) {
      if (owner[i]) continue;
      const t = this.newTrack(det, at);
      owner[i] = t;
      if (t.hits >= this.options.minHits) {
        this.confirm(t);
        step.started.push(snapshot(t));
      } else this.tentative.push(t);
    }

    for (const [i, det] of dets.entries()) {
      const t = owner[i]!;
      const isConfirmed = t.id !== '';
      step.objects.push({
        trackId: isConfirmed ? t.id : null,
        class: isConfirmed ? t.class : det.class,
        score: det.score,
        box: det.box,
      });
    }
    return step;
  }

  /**
   * A frame on which inference was skipped because nothing moved: every confirmed track stays where it was
   * and is listed at its last box. Nothing ages or ends and the motion model does not move; only the
   * stationary timers advance (a track that becomes stationary is listed in `updated`).
   */
  carry(at: number): TrackerStep {
    this.lastAt = this.lastAt === null ? at : Math.max(this.lastAt, at);
    const step: TrackerStep = { at, objects: [], started: [], updated: [], ended: [] };
    for (const t of this.tentative) t.filter.freeze(at);
    for (const t of this.confirmed) {
      t.filter.freeze(at);
      if (!t.stationary && at - t.anchorAt >= this.options.stationaryAfterMs) {
        t.stationary = true;
        step.updated.push(snapshot(t));
      }
      step.objects.push({ trackId: t.id, class: t.class, score: t.score, box: t.box });
    }
    return step;
  }

  /** Objects seen but not yet confirmed: the pipeline keeps running inference until they are. */
  get tentativeCount(): number {
    return this.tentative.length;
  }

  /** The confirmed tracks, including those coasting (missed recently but not ended). */
  active(): Track[] {
    return this.confirmed.map((t) => snapshot(t));
  }

  /** Ends every confirmed track (on stop) and forgets tentative ones. Ids keep increasing afterwards. */
  endAll(at: number): Track[] {
    this.lastAt = this.lastAt === null ? at : Math.max(this.lastAt, at);
    const ended = this.active();
    this.confirmed = [];
    this.tentative = [];
    return ended;
  }

  /** Hungarian assignment of `tracks` to the detections that have no owner yet; fills `owner`. */
  private associate(
    tracks: readonly TrackState[],
    dets: readonly Detection[],
    owner: Array<TrackState | null>,
    costOf: (t: TrackState, det: Detection) => number,
  ): Set<TrackState> {
    const matched = new Set<TrackState>();
    const free = dets.flatMap((_, i) => (owner[i] === null ? [i] : []));
    if (tracks.length === 0 || free.length === 0) return matched;
    const cost = tracks.map((t) => free.map((i) => costOf(t, dets[i]!)));
    solveAssignment(cost).forEach((col, row) => {
      if (col < 0) return;
      owner[free[col]!] = tracks[row]!;
      matched.add(tracks[row]!);
    });
    return matched;
  }

  /** Cost against the motion model's prediction: 0..1 (lower is better), Infinity when impossible. */
  private motionCost(t: TrackState, det: Detection): number {
    const predicted = t.filter.box();
    if (!this.compatible(t, det, predicted)) return Number.POSITIVE_INFINITY;
    const overlap = iou(predicted, det.box);
    const distance = Math.sqrt(t.filter.centreDistance2(det.box)) / MODEL.gate;
    if (distance > 1 && overlap < this.options.iouThreshold) return Number.POSITIVE_INFINITY;
    return MODEL.iouWeight * (1 - overlap) + (1 - MODEL.iouWeight) * Math.min(1, distance);
  }

  /** Cost against the last matched box, in the object's own sizes: for tracks the motion model lost. */
  private recoveryCost(t: TrackState, det: Detection): number {
    if (!this.compatible(t, det, t.box)) return Number.POSITIVE_INFINITY;
    const overlap = iou(t.box, det.box);
    const [lx, ly] = boxCentre(t.box);
    const [dx, dy] = boxCentre(det.box);
    const distance =
      Math.hypot(
        (dx - lx) / Math.max(t.box[2], MODEL.minSize),
        (dy - ly) / Math.max(t.box[3], MODEL.minSize),
      ) / MODEL.recoverRadius;
    if (distance > 1 && overlap < this.options.iouThreshold) return Number.POSITIVE_INFINITY;
    return MODEL.iouWeight * (1 - overlap) + (1 - MODEL.iouWeight) * Math.min(1, distance);
  }

  /** Same class (family) and a plausible size. */
  private compatible(t: TrackState, det: Detection, ref: NormBox): boolean {
    if (this.familyOf(det.class) !== t.family) return false;
    const rw = det.box[2] / ref[2];
    const rh = det.box[3] / ref[3];
    const r = MODEL.maxSizeRatio;
    return rw <= r && rw >= 1 / r && rh <= r && rh >= 1 / r;
  }

  private familyOf(c: ObjectClass): string {
    return this.options.matchClassFamilies ? (FAMILIES[c] ?? c) : c;
  }

  private newTrack(det: Detection, at: number): TrackState {
    const filter = new BoxFilter(det.box, at);
    return {
      id: '',
      family: this.familyOf(det.class),
      votes: new Map([[det.class, det.score]]),
      class: det.class,
      score: det.score,
      bestScore: det.score,
      box: det.box,
      filter,
      firstSeenAt: at,
      lastSeenAt: at,
      hits: 1,
      missedMs: 0,
      stationary: false,
      anchor: boxCentre(det.box),
      anchorAt: at,
    };
  }

  private absorb(t: TrackState, det: Detection, at: number, restartMotion: boolean): void {
    if (restartMotion) t.filter = new BoxFilter(det.box, at);
    else t.filter.update(det.box);
    t.box = det.box;
    t.score = det.score;
    t.bestScore = Math.max(t.bestScore, det.score);
    t.lastSeenAt = at;
    t.hits += 1;
    t.missedMs = 0;
    const votes = (t.votes.get(det.class) ?? 0) + det.score;
    t.votes.set(det.class, votes);
    if (votes > (t.votes.get(t.class) ?? 0)) t.class = det.class;
    // "Moved" means beyond stationaryMaxMove, or beyond the detector's own jitter for a large, close object.
    const [cx, cy] = boxCentre(det.box);
    const rx = Math.max(this.options.stationaryMaxMove, MODEL.stationaryJitter * det.box[2]);
    const ry = Math.max(this.options.stationaryMaxMove, MODEL.stationaryJitter * det.box[3]);
    if (Math.hypot((cx - t.anchor[0]) / rx, (cy - t.anchor[1]) / ry) > 1) {
      t.anchor = [cx, cy];
      t.anchorAt = at;
      t.stationary = false;
    } else if (at - t.anchorAt >= this.options.stationaryAfterMs) {
      t.stationary = true;
    }
  }

  private confirm(t: TrackState): void {
    t.id = `${this.options.idPrefix}-${this.nextNumber++}`;
    this.confirmed.push(t);
  }
}

function snapshot(t: TrackState): Track {
  return {
    id: t.id,
    class: t.class,
    score: t.score,
    bestScore: t.bestScore,
    box: [...t.box],
    predicted: clampBox(t.filter.box()),
    firstSeenAt: t.firstSeenAt,
    lastSeenAt: t.lastSeenAt,
    hits: t.hits,
    confirmed: t.id !== '',
    stationary: t.stationary,
  };
}
