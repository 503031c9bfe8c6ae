import { z } from 'zod';
import { EpochMs, Id, Origin } from './common.ts';

/**
 * Why a camera is not delivering frames, in words a user can act on. The code is stable; the
 * message is the human text (often the relevant line from ffmpeg).
 */
export const CameraProblemCode = z.enum([
  'unreachable', // connection refused, no route, DNS failure
  'timeout', // connected but nothing arrived in time
  'auth', // 401/403: wrong user name or password
  'not_found', // 404, no such file or device
  'invalid_input', // not a video, corrupt or empty file, unknown protocol
  'codec', // no decodable video stream
  'stalled', // frames stopped arriving: the watchdog restarted the source
  'ended', // a file reached its end and looping is off
  'ffmpeg_missing', // ffmpeg cannot be started
  'error', // anything else
]);
export type CameraProblemCode = z.infer<typeof CameraProblemCode>;

export const CameraProblemV1 = z.object({ code: CameraProblemCode, message: z.string().max(1000) }).strict();
export type CameraProblemV1 = z.infer<typeof CameraProblemV1>;

export const CameraState = z.enum(['connecting', 'online', 'offline']);
export type CameraState = z.infer<typeof CameraState>;

/** `camera-status.v1`: every change of a camera's state, with the reason when it is offline. */
export const CameraStatusV1 = z
  .object({
    schema: z.literal('camera-status.v1'),
    ...Origin,
    cameraId: Id,
    state: CameraState,
    at: EpochMs,
    /** Set when offline (and on a connecting retry after a failure): why. */
    problem: CameraProblemV1.nullable(),
    /** Number of consecutive failed attempts so far. */
    attempt: z.number().int().nonnegative(),
    /** When offline: when the next attempt is due. */
    retryAt: EpochMs.nullable(),
    /** When online: what the stream delivers. */
    stream: z
      .object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        codec: z.string().max(64),
        fps: z.number().nonnegative(),
      })
      .strict()
      .nullable(),
  })
  .strict();
export type CameraStatusV1 = z.infer<typeof CameraStatusV1>;

/** `device-status.v1`: a device's heartbeat, published periodically and on start and stop. */
export const DeviceStatusV1 = z
  .object({
    schema: z.literal('device-status.v1'),
    ...Origin,
    at: EpochMs,
    state: z.enum(['running', 'stopping']),
    startedAt: EpochMs,
    version: z.string().max(64),
    hostname: z.string().max(255),
    cameras: z.array(z.object({ cameraId: Id, state: CameraState }).strict()).max(256),
    detector: z
      .object({
        /** Share of wall time the detector was busy over the last period, 0..1 per worker. */
        load: z.number().nonnegative(),
        inferencesPerSecond: z.number().nonnegative(),
        inferenceMsP50: z.number().nonnegative().nullable(),
        inferenceMsP95: z.number().nonnegative().nullable(),
        /** Frames dropped because a newer frame of the same camera arrived before inference. */
        dropped: z.number().int().nonnegative(),
      })
      .strict(),
    /** Process CPU use over the last period, in cores (1.0 = one core busy). */
    cpuCores: z.number().nonnegative(),
    memoryRssBytes: z.number().int().nonnegative(),
    /** The store-and-forward outbox in front of Kafka (absent when the device has none). */
    outbox: z
      .object({
        /** Messages written to disk and not yet acknowledged by Kafka. */
        pendingMessages: z.number().int().nonnegative(),
        pendingBytes: z.number().int().nonnegative(),
        /** When the oldest pending message was written (null when nothing is pending). */
        oldestPendingAt: EpochMs.nullable(),
        /** Messages dropped because the disk quota was full (raw detections first), since start. */
        shed: z.number().int().nonnegative(),
      })
      .strict()
      .optional(),
    /**
     * Where the server fetches this device's recordings (its media endpoint, `recording.http`):
     * `GET <mediaUrl>/<segment path>` with the device's bearer token. Absent: not served.
     */
    mediaUrl: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'an http(s):// URL')
      .optional(),
  })
  .strict();
export type DeviceStatusV1 = z.infer<typeof DeviceStatusV1>;
