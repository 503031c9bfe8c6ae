import type { ObjectClass } from '@iceberg/contracts';

/**
 * What the rules engine remembers about one rule on one camera between events. Plain JSON
 * (no Maps, no undefined, no class instances), so it can be persisted or handed to another
 * server instance, and `JSON.parse(JSON.stringify(state))` behaves exactly like `state`.
 * The engine never mutates a state: every evaluation returns a new one.
 */
export interface RuleState {
  version: 1;
  /** Capture time of the last detection frame accepted; older (or equal) frames are ignored. */
  lastFrameAt: number | null;
  /** Tracks seen recently, oldest first sighting first. */
  tracks: TrackState[];
  /** Tracks that ended (TrackEnded), remembered a while so a late frame cannot revive them. */
  ended: EndedTrack[];
  /**
   * TrackEnded events that arrived before the frames up to the track's last sighting (track events
   * and detection frames travel on different topics, and one may lag the other): each is applied
   * once a frame at or after its `lastSeenAt` has been evaluated.
   */
  pendingEnds: PendingEnd[];
  /** Count rules (minCount > 1): the current crowd already fired; when the last count fired. */
  count: { fired: boolean; firedAt: number | null };
}

export interface TrackState {
  id: string;
  /** Capture time of the last frame that showed the object (matching the rule). */
  seenAt: number;
  /** Its last reference point (bottom-centre of the box). */
  point: [number, number];
  /** Zone: the last point was inside the zone. Anywhere: always true. Line: always false. */
  inside: boolean;
  /** Capture time at which the current unbroken stay inside began; null when outside. */
  since: number | null;
  /** The current stay inside already raised its inside / dwell decision. */
  stayFired: boolean;
  /** Line: the last point that was strictly off the line (null before there was one). */
  anchor: [number, number] | null;
  /** When this track last fired the rule (its cooldown), null when never. */
  firedAt: number | null;
}

export interface EndedTrack {
  id: string;
  at: number;
}

/** What a TrackEnded says that its end needs (a leave decision), kept until the frames catch up. */
export interface PendingEnd {
  id: string;
  /** When the track was ended (the TrackEnded's `at`). */
  at: number;
  lastSeenAt: number;
  deviceId: string;
  class: ObjectClass;
  score: number;
  box: [number, number, number, number];
}

/** The state of a rule on a camera that has seen nothing yet. */
export function initialState(): RuleState {
  return {
    version: 1,
    lastFrameAt: null,
    tracks: [],
    ended: [],
    pendingEnds: [],
    count: { fired: false, firedAt: null },
  };
}

/**
 * A state read back from storage, or null when it is not one this version of the engine wrote
 * (another version, or damaged): the caller then starts from `initialState()`.
 */
export function restoreState(value: unknown): RuleState | null {
  if (typeof value !== 'object' || value === null) return null;
  const s = value as Partial<RuleState>;
  const isTime = (t: unknown) => t === null || (typeof t === 'number' && Number.isFinite(t));
  const ok =
    s.version === 1 &&
    isTime(s.lastFrameAt) &&
    Array.isArray(s.tracks) &&
    s.tracks.every(
      (t) =>
        typeof t?.id === 'string' &&
        typeof t.seenAt === 'number' &&
        Array.isArray(t.point) &&
        t.point.length === 2 &&
        typeof t.inside === 'boolean' &&
        isTime(t.since) &&
        typeof t.stayFired === 'boolean' &&
        (t.anchor === null || (Array.isArray(t.anchor) && t.anchor.length === 2)) &&
        isTime(t.firedAt),
    ) &&
    Array.isArray(s.ended) &&
    s.ended.every((e) => typeof e?.id === 'string' && typeof e.at === 'number') &&
    Array.isArray(s.pendingEnds) &&
    s.pendingEnds.every(
      (e) =>
        typeof e?.id === 'string' &&
        typeof e.at === 'number' &&
        typeof e.lastSeenAt === 'number' &&
        typeof e.deviceId === 'string' &&
        typeof e.class === 'string' &&
        typeof e.score === 'number' &&
        Array.isArray(e.box) &&
        e.box.length === 4,
    ) &&
    typeof s.count?.fired === 'boolean' &&
    isTime(s.count.firedAt);
  return ok ? (value as RuleState) : null;
}
