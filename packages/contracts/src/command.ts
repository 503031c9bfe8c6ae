import { z } from 'zod';
import { EpochMs, Id, Origin } from './common.ts';

/**
 * Commands from the server to one device (`deviceId` is the addressee: a device acts only on
 * commands addressed to it and ignores the rest). Commands are idempotent by `commandId`, and a
 * stream's commands by `streamId`: a repeated StartStream for a stream that runs renews it.
 */
const commandFields = {
  ...Origin,
  /** Unique per command; a retry carries the same id. */
  commandId: z.string().min(1).max(100),
  issuedAt: EpochMs,
  cameraId: Id,
  /** One live stream of one camera (the server's live session for it). */
  streamId: Id,
};

/** Push the camera to the re-streaming server until told to stop or until `ttlSeconds` pass without renewal. */
export const StartStreamV1 = z
  .object({
    schema: z.literal('command.v1'),
    type: z.literal('StartStream'),
    ...commandFields,
    /** Where to publish, e.g. `rtmp://server:1935/live/<stream>?key=<publish key>` (the key only this device gets). */
    publishUrl: z
      .string()
      .min(1)
      .max(2048)
      .regex(/^rtmps?:\/\//, 'an rtmp:// URL'),
    /** Boxes, labels and track ids drawn into the frames (re-encoded with x264), or the camera's own stream copied. */
    annotated: z.boolean(),
    /** The device stops by itself when no StartStream for this stream arrived for this long. */
    ttlSeconds: z.number().int().min(5).max(3600),
  })
  .strict();

export const StopStreamV1 = z
  .object({
    schema: z.literal('command.v1'),
    type: z.literal('StopStream'),
    ...commandFields,
  })
  .strict();

/**
 * Keep the camera's recorded footage of [from, to] for `recording.protectedDays` (the footage of an
 * alert: its time minus a pre-roll to plus a post-roll). Segments not recorded yet that fall in the
 * range are protected when they close. `streamId` (a shared command field that keys the acks)
 * carries the alert id here. Idempotent: protecting twice changes nothing.
 */
export const ProtectRecordingV1 = z
  .object({
    schema: z.literal('command.v1'),
    type: z.literal('ProtectRecording'),
    ...commandFields,
    from: EpochMs,
    to: EpochMs,
    reason: z.literal('alert'),
    alertId: Id,
  })
  .strict()
  .refine((c) => c.to > c.from, { message: 'to must be after from', path: ['to'] })
  .refine((c) => c.to - c.from <= 24 * 3_600_000, { message: 'at most 24 hours', path: ['to'] });

/** `command.v1`: what the server asks one device to do, keyed by device. */
export const CommandV1 = z.discriminatedUnion('type', [StartStreamV1, StopStreamV1, ProtectRecordingV1]);
export type CommandV1 = z.infer<typeof CommandV1>;
export type StartStreamV1 = z.infer<typeof StartStreamV1>;
export type StopStreamV1 = z.infer<typeof StopStreamV1>;
export type ProtectRecordingV1 = z.infer<typeof ProtectRecordingV1>;

/** `command-ack.v1`: what the device did with a command, keyed by device. */
export const CommandAckV1 = z
  .object({
    schema: z.literal('command-ack.v1'),
    ...Origin,
    commandId: z.string().min(1).max(100),
    cameraId: Id,
    streamId: Id,
    at: EpochMs,
    /** accepted: received and valid; started: the push is running; failed: see reason; stopped: the push ended. */
    status: z.enum(['accepted', 'started', 'failed', 'stopped']),
    reason: z
      .enum([
        'unknown_camera',
        'camera_offline',
        'publish_refused',
        'publish_failed',
        'ttl_expired',
        'server_silent',
        'stopped_by_command',
        'superseded',
        'invalid',
        'internal',
      ])
      .optional(),
    message: z.string().max(1000).optional(),
  })
  .strict();
export type CommandAckV1 = z.infer<typeof CommandAckV1>;
