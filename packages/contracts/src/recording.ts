import { z } from 'zod';
import { EpochMs, Id, Origin } from './common.ts';

/** Why a segment was written: always (continuous), or because it overlaps a track or an alert (events). */
export const RecordingReason = z.enum(['continuous', 'event']);

/** One closed recording segment on the device: a fragmented MP4 copied from the camera, no re-encoding. */
export const RecordingSegmentV1 = z
  .object({
    /** Unique per camera and stable across re-reports: `${cameraId}:${startedAt}`. */
    segmentId: z.string().min(1).max(160),
    /** Wall-clock time of the segment's first frame, epoch ms. */
    startedAt: EpochMs,
    /** Wall-clock time just after its last frame (startedAt + duration). */
    endedAt: EpochMs,
    durationMs: z.number().int().positive(),
    bytes: z.number().int().nonnegative(),
    /** Path relative to the device's data directory: `recordings/<org>/<camera>/<yyyymmdd>/<hh>/<startedAt>.mp4`. */
    path: z
      .string()
      .min(1)
      .max(512)
      .regex(/^recordings\/[^\0]*\.(mp4|m4s)$/, 'a path under recordings/ ending in .mp4')
      .refine((p) => !p.split('/').includes('..'), 'no ".." in the path'),
    reason: RecordingReason,
    /** Codec and picture size as ffmpeg reported them (for playback decisions), when known. */
    codec: z.string().max(32).optional(),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
  })
  .strict();
export type RecordingSegmentV1 = z.infer<typeof RecordingSegmentV1>;

const recordingFields = {
  ...Origin,
  cameraId: Id,
  /** Unique per event, stable across replays; consumers use it for idempotency. */
  eventId: z.string().min(1).max(200),
  at: EpochMs,
};

/** A segment was closed and is on the device's disk. */
export const SegmentRecordedV1 = z
  .object({
    schema: z.literal('recording.v1'),
    type: z.literal('SegmentRecorded'),
    ...recordingFields,
    segment: RecordingSegmentV1,
  })
  .strict();

/** Segments were removed from the device's disk (retention, disk floor, or a user). */
export const SegmentsDeletedV1 = z
  .object({
    schema: z.literal('recording.v1'),
    type: z.literal('SegmentsDeleted'),
    ...recordingFields,
    segmentIds: z.array(z.string().min(1).max(160)).min(1).max(10_000),
    reason: z.enum(['max_age', 'max_size', 'total_max_size', 'free_space_floor', 'user']),
  })
  .strict();

/** The recorder of one camera changed state; `paused` always carries the reason. */
export const RecordingStateChangedV1 = z
  .object({
    schema: z.literal('recording.v1'),
    type: z.literal('RecordingStateChanged'),
    ...recordingFields,
    state: z.enum(['recording', 'waiting', 'paused', 'off']),
    /** `disk_full`: free space below the floor; `camera_offline`: no input; `error`: the writer failed. */
    reason: z.enum(['disk_full', 'camera_offline', 'error']).optional(),
    message: z.string().max(1000).optional(),
    freeBytes: z.number().int().nonnegative().optional(),
  })
  .strict();

/** `recording.v1`: the DVR's segment index and recorder state, keyed by camera. */
export const RecordingEventV1 = z.discriminatedUnion('type', [
  SegmentRecordedV1,
  SegmentsDeletedV1,
  RecordingStateChangedV1,
]);
export type RecordingEventV1 = z.infer<typeof RecordingEventV1>;
