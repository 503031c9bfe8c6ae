import { z } from 'zod';
import { Box, EpochMs, Id, Origin, Unit } from './common.ts';
import { ObjectClassSchema } from './detection.ts';

/** A reference to a stored JPEG: the device's snapshot store key plus what the picture shows. */
export const SnapshotRefV1 = z
  .object({
    /** Store-relative path, e.g. `snapshots/acme/cam-1/20261125/t-42.jpg`. */
    ref: z.string().min(1).max(512),
    capturedAt: EpochMs,
    score: Unit,
    box: Box,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  })
  .strict();
export type SnapshotRefV1 = z.infer<typeof SnapshotRefV1>;

const trackFields = {
  ...Origin,
  cameraId: Id,
  trackId: Id,
  /** Unique per event and stable across replays: `${trackId}:${type}:${n}`; consumers use it for idempotency. */
  eventId: z.string().min(1).max(160),
  at: EpochMs,
  class: ObjectClassSchema,
  /** The track's best score so far. */
  score: Unit,
  /** The last box seen. */
  box: Box,
  firstSeenAt: EpochMs,
  lastSeenAt: EpochMs,
  /** True when the object has not moved for a while (a parked car, someone standing). */
  stationary: z.boolean(),
  snapshot: SnapshotRefV1.nullable(),
};

export const TrackStartedV1 = z
  .object({ schema: z.literal('track.v1'), type: z.literal('TrackStarted'), ...trackFields })
  .strict();
export const TrackUpdatedV1 = z
  .object({ schema: z.literal('track.v1'), type: z.literal('TrackUpdated'), ...trackFields })
  .strict();
export const TrackEndedV1 = z
  .object({
    schema: z.literal('track.v1'),
    type: z.literal('TrackEnded'),
    ...trackFields,
    /** Number of analysed frames in which the object was matched. */
    hits: z.number().int().positive(),
  })
  .strict();

/** `track.v1`: the life of one tracked object: started (confirmed), updated, ended. */
export const TrackEventV1 = z.discriminatedUnion('type', [TrackStartedV1, TrackUpdatedV1, TrackEndedV1]);
export type TrackEventV1 = z.infer<typeof TrackEventV1>;
export type TrackEventType = TrackEventV1['type'];
