import { z } from 'zod';
import { Box, EpochMs, Id, Unit } from './common.ts';
import { ObjectClassSchema } from './detection.ts';

export const AlertStatus = z.enum(['new', 'acknowledged', 'resolved']);
export type AlertStatus = z.infer<typeof AlertStatus>;

/** Why a rule fired. */
export const AlertReason = z.enum(['enter', 'inside', 'leave', 'cross', 'dwell', 'count']);
export type AlertReason = z.infer<typeof AlertReason>;

/**
 * `alert.v1`: an alert as it leaves the server: the body of a webhook, the payload pushed on the
 * WebSocket, the API's representation. Idempotent by `dedupeKey`: the same events replayed give
 * the same key, and the server stores one alert per key.
 */
export const AlertV1 = z
  .object({
    schema: z.literal('alert.v1'),
    id: z.string().min(1).max(64),
    orgId: Id,
    ruleId: z.string().min(1).max(64),
    ruleName: z.string().max(120),
    deviceId: Id,
    cameraId: Id,
    reason: AlertReason,
    class: ObjectClassSchema,
    /** Tracks that made the rule fire (several for a count rule). */
    trackIds: z.array(Id).min(1).max(100),
    score: Unit,
    box: Box.nullable(),
    /** When what fired the rule happened (capture time), and when the alert was created. */
    at: EpochMs,
    createdAt: EpochMs,
    status: AlertStatus,
    /** Snapshot store reference of the best picture of the (first) track, if any. */
    snapshot: z.string().max(512).nullable(),
    /** One line for people: "person entered Loading bay on front-door". */
    message: z.string().max(500),
    dedupeKey: z.string().min(1).max(300),
  })
  .strict();
export type AlertV1 = z.infer<typeof AlertV1>;
