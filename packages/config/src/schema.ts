import { cocoClasses, Id } from '@iceberg/contracts';
import { z } from 'zod';

/**
 * The one configuration tree of Iceberg (edge and server alike), parsed once at start and then
 * passed down frozen. Every object is strict: an unknown key is an error that names it, so a
 * typo never silently falls back to a default.
 */

const Seconds = z.number().positive();
const ClassList = z.array(z.enum(cocoClasses)).min(1);

export const MotionConfig = z
  .object({
    /** Skip inference on frames where nothing moved; tracked objects stay present. */
    enabled: z.boolean().default(true),
    /** Grey-level change (0–255) a cell must show to count as moving. */
    threshold: z.number().int().min(1).max(255).default(12),
    /** Share of the picture (0–1) that must move for a frame to count as motion. */
    minArea: z.number().min(0).max(1).default(0.002),
    /** Run inference at least this often even without motion, so a still object is re-checked. */
    recheckSeconds: Seconds.default(10),
  })
  .strict();

export const DetectConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Frames analysed per second. */
    fps: z.number().min(0.1).max(15).default(2),
    /** Classes to report; the detector's list when absent. */
    classes: ClassList.optional(),
    /** Minimum score to report; the detector's when absent. */
    minScore: z.number().min(0.05).max(1).optional(),
    motion: MotionConfig.default(MotionConfig.parse({})),
  })
  .strict();

export const CameraConfig = z
  .object({
    id: Id,
    name: z.string().min(1).max(120).optional(),
    /** Anything ffmpeg reads: rtsp://, rtmp://, http(s)://, a file path, /dev/videoN. */
    input: z.string().min(1).max(2048),
    enabled: z.boolean().default(true),
    /** Files only: start again at the end. */
    loop: z.boolean().default(false),
    /** Files only: read at the file's own frame rate, as a camera would deliver it. */
    realtime: z.boolean().default(true),
    rtspTransport: z.enum(['tcp', 'udp']).default('tcp'),
    detect: DetectConfig.default(DetectConfig.parse({})),
    snapshots: z
      .object({
        enabled: z.boolean().default(true),
        maxWidth: z.number().int().min(64).max(3840).default(640),
      })
      .strict()
      .default({ enabled: true, maxWidth: 640 }),
  })
  .strict();
export type CameraConfig = z.infer<typeof CameraConfig>;

export const DetectorConfig = z
  .object({
    /** ONNX model file; relative paths are from the repository root. */
    model: z.string().min(1).default('assets/models/nanodet-g.onnx'),
    /** Threads per inference (ONNX Runtime intra-op threads). One thread per detector uses the CPU best (docs/performance.md). */
    threads: z.number().int().min(1).max(64).default(1),
    /** Detectors running at once, each in its own worker thread with `threads` threads. */
    concurrency: z.number().int().min(1).max(16).default(2),
    minScore: z.number().min(0.05).max(1).default(0.5),
    /** IoU above which two boxes of one class are the same object (non-maximum suppression). */
    nmsIou: z.number().min(0.1).max(0.95).default(0.5),
    classes: ClassList.default(['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck']),
    /** A frame waiting longer than this for the detector is dropped for a newer one. */
    maxFrameAgeMs: z.number().int().min(50).max(60_000).default(1500),
  })
  .strict();
export type DetectorConfig = z.infer<typeof DetectorConfig>;

export const TrackerConfig = z
  .object({
    /** Matches needed before an object gets a track id and events. */
    minHits: z.number().int().min(1).max(20).default(2),
    /** A track not seen for this long ends. */
    maxAgeSeconds: Seconds.default(4),
    /** A track whose centre moved less than `stationaryMaxMove` over this long is stationary. */
    stationarySeconds: Seconds.default(10),
    stationaryMaxMove: z.number().min(0).max(1).default(0.02),
    /** TrackUpdated is sent at most this often per track (and whenever the snapshot improves). */
    updateSeconds: Seconds.default(5),
  })
  .strict();
export type TrackerConfig = z.infer<typeof TrackerConfig>;

const KafkaConfig = z
  .object({
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'HOST:PORT')).min(1),
    topicPrefix: z.string().max(100).default('iceberg.'),
    clientId: z.string().min(1).max(100).optional(),
  })
  .strict();

export const BusConfig = z
  .object({
    type: z.enum(['memory', 'kafka']).default('memory'),
    kafka: KafkaConfig.optional(),
  })
  .strict()
  .refine((b) => b.type !== 'kafka' || b.kafka !== undefined, {
    message: 'bus.type is kafka: set bus.kafka.brokers',
    path: ['kafka'],
  });

export const SmtpConfig = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(587),
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    user: z.string().optional(),
    password: z.string().optional(),
    from: z.string().min(3).default('Iceberg <iceberg@localhost>'),
  })
  .strict();

export const ServerConfig = z
  .object({
    /** Address the HTTP server binds: 127.0.0.1 by default; 0.0.0.0 to serve the network. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** postgres://… for PostgreSQL; unset: the embedded database (PGlite) in `<dataDir>/db`. */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
      .optional(),
    /** The URL people reach the web app at (links in e-mails and webhooks). */
    publicUrl: z.string().url().optional(),
    /** Created on first start when no user exists yet. */
    admin: z
      .object({
        email: z.string().email().default('admin@iceberg.local'),
        password: z.string().min(8, 'at least 8 characters').optional(),
        org: z.string().min(1).max(120).default('My organisation'),
      })
      .strict()
      .default({ email: 'admin@iceberg.local', org: 'My organisation' }),
    auth: z
      .object({
        tokenTtlHours: z
          .number()
          .positive()
          .max(24 * 365)
          .default(24 * 7),
        loginAttemptsPerMinute: z.number().int().min(1).max(1000).default(10),
      })
      .strict()
      .default({ tokenTtlHours: 24 * 7, loginAttemptsPerMinute: 10 }),
    /** Detection frames are stored at most this often per camera (tracks and alerts are stored in full). */
    detectionSampleSeconds: z.number().min(0).max(3600).default(1),
    detectionRetentionDays: z.number().positive().default(7),
    smtp: SmtpConfig.optional(),
  })
  .strict();
export type ServerConfig = z.infer<typeof ServerConfig>;

export const IcebergConfig = z
  .object({
    /** The organisation (tenant) this device belongs to. */
    org: Id.default('default'),
    device: z
      .object({ id: Id.default('edge-1'), name: z.string().max(120).optional() })
      .strict()
      .default({ id: 'edge-1' }),
    /** Where databases, snapshots and recordings are kept. */
    dataDir: z.string().min(1).default('data'),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
    bus: BusConfig.default({ type: 'memory' }),
    detector: DetectorConfig.default(DetectorConfig.parse({})),
    tracker: TrackerConfig.default(TrackerConfig.parse({})),
    /** Seconds between device heartbeats. */
    heartbeatSeconds: Seconds.default(10),
    ffmpegPath: z.string().min(1).default('ffmpeg'),
    server: ServerConfig.default(ServerConfig.parse({})),
    cameras: z
      .array(CameraConfig)
      .max(256)
      .default([])
      .superRefine((cameras, ctx) => {
        const seen = new Set<string>();
        cameras.forEach((c, i) => {
          if (seen.has(c.id))
            ctx.addIssue({ code: 'custom', message: `duplicate camera id "${c.id}"`, path: [i, 'id'] });
          seen.add(c.id);
        });
      }),
  })
  .strict();

export type IcebergConfig = z.infer<typeof IcebergConfig>;
export type IcebergConfigInput = z.input<typeof IcebergConfig>;
