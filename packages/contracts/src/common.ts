import { z } from 'zod';

/** Identifiers: short, URL- and topic-safe, so they can appear in paths, keys and file names. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');

/** Milliseconds since the Unix epoch (UTC). */
export const EpochMs = z.number().int().nonnegative();

/** A unit-interval number: normalised coordinates and scores. */
export const Unit = z.number().min(0).max(1);

/**
 * A box in normalised coordinates: [x, y, width, height], each 0..1 of the frame's width or height,
 * (x, y) being the top-left corner. Independent of the resolution that was analysed.
 */
export const Box = z
  .tuple([Unit, Unit, Unit, Unit])
  .refine(([x, y, w, h]) => x + w <= 1.000001 && y + h <= 1.000001, 'the box must lie inside the frame');
export type Box = z.infer<typeof Box>;

export const FrameSize = z
  .object({ width: z.number().int().positive(), height: z.number().int().positive() })
  .strict();
export type FrameSize = z.infer<typeof FrameSize>;

/** Where a message came from: every message belongs to one organisation and one device. */
export const Origin = {
  orgId: Id,
  deviceId: Id,
};
