import { DetectionFrameV1, type ObjectClass, TrackEventV1 } from '@iceberg/contracts';
import type { AlertDecision } from './alert-decision.ts';
import { type Rule, RuleSpec, type RuleSpecInput } from './rule-schema.ts';
import { initialState, type RuleState } from './rule-state.ts';
import { type EngineOptions, evaluate, type RuleInput } from './rules-engine.ts';

/** Test helpers for the rules engine (not part of the public API). */

/** Monday 2 June 2025, 12:00 UTC. */
export const T0 = Date.UTC(2025, 5, 2, 12, 0, 0);

/** A valid rule with defaults filled in, parsed like the API would; `cam-1` and people unless told. */
export function makeRule(spec: Partial<RuleSpecInput> & Pick<RuleSpecInput, 'trigger'>, id = 'r1'): Rule {
  return { ...RuleSpec.parse({ name: 'test rule', cameras: ['cam-1'], classes: ['person'], ...spec }), id };
}

export interface Thing {
  id: string | null;
  /** Where it stands (bottom-centre of its box). */
  at: readonly [number, number];
  class?: ObjectClass;
  score?: number;
}

/** A box 0.04 wide and 0.1 high standing at the point. */
function boxAt([x, y]: readonly [number, number]): [number, number, number, number] {
  return [x - 0.02, y - 0.1, 0.04, 0.1];
}

export function frame(
  at: number,
  things: readonly Thing[],
  options: { cameraId?: string; inferred?: boolean; orgId?: string } = {},
): RuleInput {
  const detection: DetectionFrameV1 = {
    schema: 'detection.v1',
    orgId: options.orgId ?? 'acme',
    deviceId: 'edge-1',
    cameraId: options.cameraId ?? 'cam-1',
    seq: Math.floor(at / 500),
    capturedAt: at,
    frame: { width: 768, height: 576 },
    inferred: options.inferred ?? true,
    inferenceMs: options.inferred === false ? null : 80,
    objects: things.map((t) => ({
      trackId: t.id,
      class: t.class ?? 'person',
      score: t.score ?? 0.8,
      box: boxAt(t.at),
    })),
  };
  // Parsed as a consumer would: a fixture that breaks the wire contract fails loudly.
  return { kind: 'detections', frame: DetectionFrameV1.parse(detection) };
}

export function trackEnded(
  at: number,
  trackId: string,
  point: readonly [number, number],
  cls: ObjectClass = 'person',
  cameraId = 'cam-1',
  /** The last frame that showed the track (the tracker ends a track some frames after it). */
  lastSeenAt = at,
): RuleInput {
  const event: TrackEventV1 = {
    schema: 'track.v1',
    type: 'TrackEnded',
    orgId: 'acme',
    deviceId: 'edge-1',
    cameraId,
    trackId,
    eventId: `${trackId}:TrackEnded:0`,
    at,
    class: cls,
    score: 0.9,
    box: boxAt(point),
    firstSeenAt: T0,
    lastSeenAt,
    stationary: false,
    snapshot: null,
    hits: 3,
  };
  return { kind: 'track', event: TrackEventV1.parse(event) };
}

/** The time of an input (used as `now`, as a live server would see it). */
export function timeOf(input: RuleInput): number {
  return input.kind === 'detections' ? input.frame.capturedAt : input.event.at;
}

/** Feeds the inputs one by one (now = each input's time); the final state and every decision. */
export function run(
  rule: Rule,
  inputs: readonly RuleInput[],
  state: RuleState = initialState(),
  options: EngineOptions & { roundTrip?: boolean } = {},
): { state: RuleState; decisions: AlertDecision[] } {
  const decisions: AlertDecision[] = [];
  let current = state;
  for (const input of inputs) {
    if (options.roundTrip) current = JSON.parse(JSON.stringify(current)) as RuleState;
    const result = evaluate(rule, input, current, timeOf(input), options);
    current = result.state;
    decisions.push(...result.decisions);
  }
  return { state: current, decisions };
}

/** `reason@seconds-after-T0#tracks`, a compact form for tables. */
export function brief(decisions: readonly AlertDecision[]): string[] {
  return decisions.map((d) => `${d.reason}@${(d.at - T0) / 1000}#${d.trackIds.join('+')}`);
}

/**
 * One person walking left to right along y = 0.6 at 2 fps, x = 0.12, 0.17, … (17 frames, 0 to 8 s):
 * inside the square zone 0.4..0.6 × 0.4..0.8 in frames 6 to 9 (3 s to 4.5 s).
 */
export function walkAcross(id: string | null = 'p1', extra: Partial<Thing> = {}, frames = 17): RuleInput[] {
  return Array.from({ length: frames }, (_, i) =>
    frame(T0 + i * 500, [{ id, at: [0.12 + 0.05 * i, 0.6], ...extra }], { inferred: i % 3 !== 2 }),
  );
}

export const square: [number, number][] = [
  [0.4, 0.4],
  [0.6, 0.4],
  [0.6, 0.8],
  [0.4, 0.8],
];
