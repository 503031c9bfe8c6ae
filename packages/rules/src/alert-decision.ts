import type { AlertReason, Box, ObjectClass } from '@iceberg/contracts';

/**
 * The engine's verdict that a rule fired: what the alert service turns into an `alert.v1`
 * (adding the id, rule name, message, snapshot and creation time).
 */
export interface AlertDecision {
  ruleId: string;
  cameraId: string;
  deviceId: string;
  orgId: string;
  reason: AlertReason;
  /** The object's class; for a count, the most frequent class among those counted (ties: the first in the frame). */
  class: ObjectClass;
  /** The track that fired the rule, or the tracks counted (at most 100, in frame order). */
  trackIds: string[];
  /** The object's score in the frame (its best score, for a leave on TrackEnded); the highest, for a count. */
  score: number;
  /** The object's box in the frame (its last box, for a leave on TrackEnded); null for a count. */
  box: Box | null;
  /** Capture time of the frame (or `at` of the track event) that fired the rule. */
  at: number;
  /**
   * Stable across replays, derived only from the rule and the triggering event:
   * `${ruleId}:${cameraId}:${reason}:${trackId}:${at}` for one object, and
   * `${ruleId}:${cameraId}:count:${at}` for a count (one count decision per frame at most).
   */
  dedupeKey: string;
}

/** The dedupe key of a decision (see `AlertDecision.dedupeKey`). */
export function decisionKey(
  ruleId: string,
  cameraId: string,
  reason: AlertReason,
  trackId: string | null,
  at: number,
): string {
  return trackId === null
    ? `${ruleId}:${cameraId}:${reason}:${at}`
    : `${ruleId}:${cameraId}:${reason}:${trackId}:${at}`;
}
