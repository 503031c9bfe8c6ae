import type {
  AlertReason,
  DetectedObjectV1,
  DetectionFrameV1,
  ObjectClass,
  TrackEventV1,
} from '@iceberg/contracts';
import { type AlertDecision, decisionKey } from './alert-decision.ts';
import { crossingSide, type Point, pointInPolygon, referencePoint, sideOfLine } from './geometry.ts';
import type { Rule } from './rule-schema.ts';
import { initialState, type PendingEnd, type RuleState, type TrackState } from './rule-state.ts';
import { isWithinSchedule } from './schedule.ts';

/**
 * The rules engine: pure and deterministic. `evaluate(rule, input, state, now)` returns the new
 * state and the decisions; it does no I/O, reads no clock and never mutates its arguments.
 * `now` (the server's clock, epoch ms) is used only to refuse frames from the future; the same
 * inputs with the same `now` values always give the same decisions.
 *
 * Semantics (times are capture times of frames, never the wall clock, so a replay behaves the same):
 * - Only confirmed objects (trackId not null) of the rule's classes with score ≥ minScore on the
 *   rule's cameras count; other objects are ignored (as if not in the frame). Inputs of other
 *   cameras or organisations, disabled rules, TrackStarted and TrackUpdated return the same state
 *   object and no decision.
 * - An object is where it stands: the bottom-centre of its box (`referencePoint`). On a zone's
 *   edge counts as inside.
 * - Zone `enter`: the point moves from outside to inside; an object first seen inside also enters
 *   (it came through a door, out of a car, from behind something). `leave`: inside → outside, or its
 *   TrackEnded while it was inside. `inside`: the object is inside (for dwellSeconds, has been for
 *   that long without being seen outside); it fires once per stay. `anywhere`: like `inside`, for
 *   the object's presence.
 * - Line: the move from the object's last point off the line to its new point crosses the segment
 *   (see `crossingSide`); sides as in `sideOfLine` (standing at `from`, looking towards `to`).
 * - minCount > 1 (count rules): fires when at least N objects of one frame are inside / present
 *   (and have dwelt), once per crowd: it may fire again after the count fell below N.
 * - Schedule and cooldown gate decisions, never state. Cooldown is per (rule, camera, track), and
 *   per (rule, camera) for count rules. An inside / dwell / count condition that arises during the
 *   cooldown or outside the schedule fires as soon as both allow it, if it still holds then; enter,
 *   leave and cross are moments and are dropped.
 * - Detection frames not newer than the last one accepted for this rule and camera are ignored
 *   (out of order, or replayed after a restart that restored the state), as are frames from more
 *   than `maxClockSkewMs` after `now` (a device with a wrong clock must not block later frames).
 * - TrackEnded ends the track (leave if it was inside) and is remembered a while, so a late frame
 *   cannot revive the track. A TrackEnded that arrives before the frames up to the track's last
 *   sighting (its `lastSeenAt`; the two topics are consumed independently, and one may lag) waits
 *   in the state and is applied right after the first frame at or after that time, so those frames
 *   still count. TrackStarted and TrackUpdated change nothing: positions come from frames.
 * - Tracks not seen for `forgetAfterMs` of frame time are forgotten, and at most `maxTracks` are
 *   kept (the least recently seen go first), so the state stays bounded.
 */

export type RuleInput =
  | { kind: 'detections'; frame: DetectionFrameV1 }
  | { kind: 'track'; event: TrackEventV1 };

export interface Evaluation {
  state: RuleState;
  decisions: AlertDecision[];
}

export interface EngineOptions {
  /** Forget a track not seen for this long (frame time). Default 60 s. */
  forgetAfterMs?: number;
  /** Keep at most this many tracks and as many ended tracks per (rule, camera). Default 1,000. */
  maxTracks?: number;
  /** Ignore frames captured more than this after `now`. Default 5 minutes. */
  maxClockSkewMs?: number;
}

const defaults: Required<EngineOptions> = {
  forgetAfterMs: 60_000,
  maxTracks: 1_000,
  maxClockSkewMs: 300_000,
};

const noOptions: EngineOptions = Object.freeze({});

/** At most this many track ids in a count decision (the `alert.v1` limit). */
const MAX_TRACK_IDS = 100;

/** Evaluates one rule against one input for one camera's state (see the module comment). */
export function evaluate(
  rule: Rule,
  input: RuleInput,
  state: RuleState,
  now: number,
  options: EngineOptions = noOptions,
): Evaluation {
  const cameraId = input.kind === 'detections' ? input.frame.cameraId : input.event.cameraId;
  const orgId = input.kind === 'detections' ? input.frame.orgId : input.event.orgId;
  if (!rule.enabled || !rule.cameras.includes(cameraId)) return unchanged(state);
  if (rule.orgId !== undefined && rule.orgId !== orgId) return unchanged(state);
  const settings = options === noOptions ? defaults : { ...defaults, ...options };
  if (input.kind === 'detections') return evaluateFrame(rule, input.frame, state, now, settings);
  switch (input.event.type) {
    case 'TrackEnded':
      return evaluateTrackEnded(rule, input.event, state, settings);
    case 'TrackStarted':
    case 'TrackUpdated':
      return unchanged(state);
    default:
      return assertNever(input.event);
  }
}

/** The key of a (rule, camera) state in `evaluateAll`'s map. Camera ids never contain ':'. */
export function ruleStateKey(ruleId: string, cameraId: string): string {
  return `${ruleId}:${cameraId}`;
}

/**
 * Evaluates every rule against one input. `states` holds each (rule, camera) state under
 * `ruleStateKey`; a missing one is `initialState()`. Returns a new map (the input map is not
 * changed) and the decisions in the order of `rules`. The map is copied on every call: keep one
 * map per camera (as the owner of a camera's partition would) rather than one for everything.
 */
export function evaluateAll(
  rules: readonly Rule[],
  input: RuleInput,
  states: ReadonlyMap<string, RuleState>,
  now: number,
  options: EngineOptions = noOptions,
): { states: Map<string, RuleState>; decisions: AlertDecision[] } {
  const cameraId = input.kind === 'detections' ? input.frame.cameraId : input.event.cameraId;
  const next = new Map(states);
  const decisions: AlertDecision[] = [];
  for (const rule of rules) {
    if (!rule.cameras.includes(cameraId)) continue;
    const key = ruleStateKey(rule.id, cameraId);
    const before = states.get(key) ?? initialState();
    const result = evaluate(rule, input, before, now, options);
    if (result.state !== before || states.has(key)) next.set(key, result.state);
    for (const decision of result.decisions) decisions.push(decision);
  }
  return { states: next, decisions };
}

function unchanged(state: RuleState): Evaluation {
  return { state, decisions: [] };
}

function assertNever(value: never): never {
  throw new Error(`unexpected input ${JSON.stringify(value)}`);
}

/** The reason a per-object inside/anywhere rule gives: dwell when it waits, inside otherwise. */
function stayReason(rule: Rule): AlertReason {
  return rule.dwellSeconds !== undefined && rule.dwellSeconds > 0 ? 'dwell' : 'inside';
}

function isCountRule(rule: Rule): boolean {
  return rule.minCount > 1;
}

/** True when the rule's schedule (if any) allows decisions at `at`. */
function allowedAt(rule: Rule, at: number): boolean {
  return rule.schedule === undefined || isWithinSchedule(rule.schedule, at);
}

function coolingDown(rule: Rule, firedAt: number | null, at: number): boolean {
  return firedAt !== null && at - firedAt < rule.cooldownSeconds * 1000;
}

/** The object moved to `point` in the frame at `at`: its new state, and the moment it made, if any. */
function stepTrack(
  rule: Rule,
  before: TrackState | null,
  id: string,
  point: Point,
  at: number,
): { track: TrackState; moment: AlertReason | null } {
  const trigger = rule.trigger;
  const p: [number, number] = [point[0], point[1]];
  const firedAt = before?.firedAt ?? null;
  switch (trigger.type) {
    case 'line': {
      const anchor = before?.anchor ?? null;
      const side = sideOfLine(trigger.from, trigger.to, p);
      let moment: AlertReason | null = null;
      if (anchor !== null) {
        const crossed = crossingSide(trigger.from, trigger.to, anchor, p);
        const wanted =
          trigger.direction === 'any' ||
          (trigger.direction === 'left-to-right' && crossed === 1) ||
          (trigger.direction === 'right-to-left' && crossed === -1);
        if (crossed !== null && wanted) moment = 'cross';
      }
      const track: TrackState = {
        id,
        seenAt: at,
        point: p,
        inside: false,
        since: null,
        stayFired: false,
        anchor: side === 0 ? anchor : p,
        firedAt,
      };
      return { track, moment };
    }
    case 'zone':
    case 'anywhere': {
      const inside = trigger.type === 'anywhere' || pointInPolygon(p, trigger.polygon);
      const wasInside = before?.inside ?? false;
      const staying = inside && wasInside && before !== null;
      const track: TrackState = {
        id,
        seenAt: at,
        point: p,
        inside,
        since: inside ? (staying ? (before.since ?? at) : at) : null,
        stayFired: staying ? before.stayFired : false,
        anchor: null,
        firedAt,
      };
      let moment: AlertReason | null = null;
      if (trigger.type === 'zone' && trigger.on === 'enter' && inside && !wasInside) moment = 'enter';
      if (trigger.type === 'zone' && trigger.on === 'leave' && wasInside && !inside) moment = 'leave';
      return { track, moment };
    }
    default:
      return assertNever(trigger);
  }
}

/** True for rules whose per-object condition is "inside (long enough)": zone inside and anywhere. */
function isStayRule(rule: Rule): boolean {
  return rule.trigger.type === 'anywhere' || (rule.trigger.type === 'zone' && rule.trigger.on === 'inside');
}

function dwelt(rule: Rule, track: TrackState, at: number): boolean {
  return track.inside && track.since !== null && at - track.since >= (rule.dwellSeconds ?? 0) * 1000;
}

function evaluateFrame(
  rule: Rule,
  frame: DetectionFrameV1,
  state: RuleState,
  now: number,
  settings: Required<EngineOptions>,
): Evaluation {
  const at = frame.capturedAt;
  if (state.lastFrameAt !== null && at <= state.lastFrameAt) return unchanged(state);
  if (at > now + settings.maxClockSkewMs) return unchanged(state);

  const previous = new Map<string, TrackState>();
  for (const track of state.tracks) previous.set(track.id, track);
  const ended = state.ended.length > 0 ? new Set(state.ended.map((e) => e.id)) : null;

  const decisions: AlertDecision[] = [];
  const seen = new Map<string, TrackState>();
  const seenObjects: Array<{ object: DetectedObjectV1; track: TrackState }> = [];
  const stayRule = isStayRule(rule);
  const countRule = isCountRule(rule);

  for (const object of frame.objects) {
    const id = object.trackId;
    if (id === null || seen.has(id) || ended?.has(id)) continue;
    if (object.score < rule.minScore || !rule.classes.includes(object.class)) continue;
    const before = previous.get(id) ?? null;
    const { track, moment } = stepTrack(rule, before, id, referencePoint(object.box), at);
    let reason: AlertReason | null = moment;
    if (stayRule && !countRule && !track.stayFired && dwelt(rule, track, at)) reason = stayReason(rule);
    let next = track;
    if (reason !== null && !coolingDown(rule, track.firedAt, at) && allowedAt(rule, at)) {
      next = {
        ...track,
        firedAt: at,
        stayFired: track.stayFired || reason === 'inside' || reason === 'dwell',
      };
      decisions.push(objectDecision(rule, frame, object, id, reason));
    }
    seen.set(id, next);
    seenObjects.push({ object, track: next });
  }

  let count = state.count;
  if (countRule) {
    const crowd = seenObjects.filter(({ track }) => dwelt(rule, track, at));
    if (crowd.length < rule.minCount) {
      if (count.fired) count = { fired: false, firedAt: count.firedAt };
    } else if (!count.fired && !coolingDown(rule, count.firedAt, at) && allowedAt(rule, at)) {
      count = { fired: true, firedAt: at };
      decisions.push(
        countDecision(
          rule,
          frame,
          crowd.map((c) => c.object),
        ),
      );
    }
  }

  let next: RuleState = {
    version: 1,
    lastFrameAt: at,
    tracks: keptTracks(state.tracks, seen, at, settings),
    ended:
      state.ended.length > 0 ? state.ended.filter((e) => at - e.at <= settings.forgetAfterMs) : state.ended,
    pendingEnds: state.pendingEnds,
    count,
  };
  // Ends that waited for the frames up to their track's last sighting: those frames are in now.
  if (next.pendingEnds.length > 0) {
    const due = next.pendingEnds.filter((e) => e.lastSeenAt <= at);
    if (due.length > 0) {
      next = { ...next, pendingEnds: next.pendingEnds.filter((e) => e.lastSeenAt > at) };
      for (const end of due) {
        const result = applyEnd(rule, end, frame.orgId, frame.cameraId, next, settings);
        next = result.state;
        decisions.push(...result.decisions);
      }
    }
  }
  return { state: next, decisions };
}

/** Old tracks updated or still remembered, then new ones in frame order; at most maxTracks. */
function keptTracks(
  old: readonly TrackState[],
  seen: ReadonlyMap<string, TrackState>,
  at: number,
  settings: Required<EngineOptions>,
): TrackState[] {
  const kept: TrackState[] = [];
  const placed = new Set<string>();
  for (const track of old) {
    const updated = seen.get(track.id);
    if (updated) {
      kept.push(updated);
      placed.add(track.id);
    } else if (at - track.seenAt <= settings.forgetAfterMs) kept.push(track);
  }
  for (const [id, track] of seen) if (!placed.has(id)) kept.push(track);
  if (kept.length <= settings.maxTracks) return kept;
  // Too many: keep the most recently seen (ties: earlier in the list), in their order.
  const order = kept.map((track, index) => ({ track, index }));
  order.sort((a, b) => b.track.seenAt - a.track.seenAt || a.index - b.index);
  const survivors = new Set(order.slice(0, settings.maxTracks).map((o) => o.index));
  return kept.filter((_, index) => survivors.has(index));
}

function evaluateTrackEnded(
  rule: Rule,
  event: Extract<TrackEventV1, { type: 'TrackEnded' }>,
  state: RuleState,
  settings: Required<EngineOptions>,
): Evaluation {
  if (!rule.classes.includes(event.class)) return unchanged(state);
  const id = event.trackId;
  if (state.ended.some((e) => e.id === id) || state.pendingEnds.some((e) => e.id === id))
    return unchanged(state);
  const end: PendingEnd = {
    id,
    at: event.at,
    lastSeenAt: event.lastSeenAt,
    deviceId: event.deviceId,
    class: event.class,
    score: event.score,
    box: [event.box[0], event.box[1], event.box[2], event.box[3]],
  };
  if (state.lastFrameAt === null || state.lastFrameAt < event.lastSeenAt) {
    // The frames that show the track are not all in yet: the end waits for them.
    const pendingEnds = [...state.pendingEnds, end];
    return {
      state: {
        ...state,
        pendingEnds:
          pendingEnds.length > settings.maxTracks
            ? pendingEnds.slice(pendingEnds.length - settings.maxTracks)
            : pendingEnds,
      },
      decisions: [],
    };
  }
  return applyEnd(rule, end, event.orgId, event.cameraId, state, settings);
}

/** The track ended: leave if it was inside a leave zone; forgotten, and remembered as ended. */
function applyEnd(
  rule: Rule,
  end: PendingEnd,
  orgId: string,
  cameraId: string,
  state: RuleState,
  settings: Required<EngineOptions>,
): Evaluation {
  const before = state.tracks.find((t) => t.id === end.id) ?? null;
  const decisions: AlertDecision[] = [];
  const at = end.at;
  const trigger = rule.trigger;
  if (
    before?.inside &&
    trigger.type === 'zone' &&
    trigger.on === 'leave' &&
    !coolingDown(rule, before.firedAt, at) &&
    allowedAt(rule, at)
  ) {
    decisions.push({
      ruleId: rule.id,
      cameraId,
      deviceId: end.deviceId,
      orgId,
      reason: 'leave',
      class: end.class,
      trackIds: [end.id],
      score: end.score,
      box: end.box,
      at,
      dedupeKey: decisionKey(rule.id, cameraId, 'leave', end.id, at),
    });
  }
  const ended = [...state.ended, { id: end.id, at }];
  return {
    state: {
      ...state,
      tracks: before ? state.tracks.filter((t) => t !== before) : state.tracks,
      ended: ended.length > settings.maxTracks ? ended.slice(ended.length - settings.maxTracks) : ended,
    },
    decisions,
  };
}

function objectDecision(
  rule: Rule,
  frame: DetectionFrameV1,
  object: DetectedObjectV1,
  trackId: string,
  reason: AlertReason,
): AlertDecision {
  return {
    ruleId: rule.id,
    cameraId: frame.cameraId,
    deviceId: frame.deviceId,
    orgId: frame.orgId,
    reason,
    class: object.class,
    trackIds: [trackId],
    score: object.score,
    box: [object.box[0], object.box[1], object.box[2], object.box[3]],
    at: frame.capturedAt,
    dedupeKey: decisionKey(rule.id, frame.cameraId, reason, trackId, frame.capturedAt),
  };
}

function countDecision(
  rule: Rule,
  frame: DetectionFrameV1,
  objects: readonly DetectedObjectV1[],
): AlertDecision {
  const tally = new Map<ObjectClass, number>();
  for (const o of objects) tally.set(o.class, (tally.get(o.class) ?? 0) + 1);
  let top: ObjectClass = objects[0]!.class;
  for (const [name, n] of tally) if (n > (tally.get(top) ?? 0)) top = name;
  return {
    ruleId: rule.id,
    cameraId: frame.cameraId,
    deviceId: frame.deviceId,
    orgId: frame.orgId,
    reason: 'count',
    class: top,
    trackIds: objects.slice(0, MAX_TRACK_IDS).map((o) => o.trackId!),
    score: Math.max(...objects.map((o) => o.score)),
    box: null,
    at: frame.capturedAt,
    dedupeKey: decisionKey(rule.id, frame.cameraId, 'count', null, frame.capturedAt),
  };
}
