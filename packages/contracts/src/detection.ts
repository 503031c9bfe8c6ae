import { z } from 'zod';
import { cocoClasses } from './classes.ts';
import { Box, EpochMs, FrameSize, Id, Origin, Unit } from './common.ts';

export const ObjectClassSchema = z.enum(cocoClasses);

/** One object in one analysed frame. `trackId` is null until the tracker has confirmed the object. */
export const DetectedObjectV1 = z
  .object({
    trackId: Id.nullable(),
    class: ObjectClassSchema,
    score: Unit,
    box: Box,
  })
  .strict();
export type DetectedObjectV1 = z.infer<typeof DetectedObjectV1>;

/**
 * `detection.v1`: what one camera saw in one analysed frame. Published for every frame that was
 * analysed; frames skipped by motion gating repeat the tracked objects with `inferred: false`.
 */
export const DetectionFrameV1 = z
  .object({
    schema: z.literal('detection.v1'),
    ...Origin,
    cameraId: Id,
    /** Sequence number of the analysed frame within this run of the camera's pipeline. */
    seq: z.number().int().nonnegative(),
    capturedAt: EpochMs,
    frame: FrameSize,
    /** False when motion gating skipped inference and the objects are the tracker's carried state. */
    inferred: z.boolean(),
    /** Inference time in milliseconds, when inference ran. */
    inferenceMs: z.number().nonnegative().nullable(),
    objects: z.array(DetectedObjectV1).max(500),
  })
  .strict();
export type DetectionFrameV1 = z.infer<typeof DetectionFrameV1>;
