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

/** How a camera is recorded (the DVR): see docs/recording.md. */
export const CameraRecordConfig = z
  .object({
    /** `continuous`: everything; `events`: only segments overlapping tracks (± pre/post roll); `off`. */
    mode: z.enum(['continuous', 'events', 'off']).default('continuous'),
    /** Target segment length; cuts happen on keyframes, so a segment is this long or a little longer. */
    segmentSeconds: z.number().int().min(2).max(300).default(10),
    /** Events mode: video kept before a track starts and after it ends. */
    preRollSeconds: z.number().min(0).max(300).default(10),
    postRollSeconds: z.number().min(0).max(300).default(10),
    /** This camera's own caps (the overall caps in `recording.retention` apply as well). */
    retention: z
      .object({
        maxAgeDays: z.number().positive().max(3650).optional(),
        maxSizeGB: z.number().positive().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type CameraRecordConfig = z.infer<typeof CameraRecordConfig>;

/**
 * The device's media endpoint (distributed mode, docs/recording.md): `GET /recordings/<path>` of
 * the indexed segments, for the server only (bearer `token`). Off by default (the all-in-one box
 * reads its own disk).
 */
export const RecordingHttpConfig = z
  .object({
    enabled: z.boolean().default(false),
    /** Address to listen on: 0.0.0.0 (the network) or 127.0.0.1 (this box only). */
    host: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.:[\]-]+$/, 'an IP address or host name')
      .default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8090),
    /** The secret the server sends as `Authorization: Bearer …` (server.deviceMedia.tokens holds the same). */
    token: z.string().min(24, 'at least 24 characters').max(512).optional(),
    /** The URL the server should use (e.g. behind a proxy, https); default http://<hostname>:<port>. */
    publicUrl: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'an http(s):// URL')
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && c.token === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'required when recording.http.enabled is true (at least 24 characters)',
        path: ['token'],
      });
  });
export type RecordingHttpConfig = z.infer<typeof RecordingHttpConfig>;

/** The device's recordings as a whole: overall retention, protection of event segments, the disk floor. */
export const RecordingConfig = z
  .object({
    retention: z
      .object({
        /** Every camera together; unset: only the free-space floor limits the total. */
        maxSizeGB: z.number().positive().optional(),
        maxAgeDays: z.number().positive().max(3650).default(30),
      })
      .strict()
      .default({ maxAgeDays: 30 }),
    /** Segments overlapping a track or an alert are kept this long (the age caps do not remove them sooner). */
    protectedDays: z.number().positive().max(3650).default(90),
    /**
     * Below this much free space on the recordings' disk, recording pauses (and the oldest segments
     * go); it resumes above the floor plus `hysteresis`. The larger of `bytes` and `percent` of the disk.
     */
    freeSpaceFloor: z
      .object({
        bytes: z
          .number()
          .int()
          .nonnegative()
          .default(2 * 1024 ** 3),
        percent: z.number().min(0).max(50).default(5),
        /** Share of the floor added before recording resumes, so it does not flap. */
        hysteresis: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .default({ bytes: 2 * 1024 ** 3, percent: 5, hysteresis: 0.1 }),
    /** Seconds between disk checks and retention passes. */
    checkSeconds: z.number().min(1).max(3600).default(30),
    /** The device's media endpoint: the server fetches segments from it in distributed mode. */
    http: RecordingHttpConfig.prefault({}),
  })
  .strict();
export type RecordingConfig = z.infer<typeof RecordingConfig>;

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
    record: CameraRecordConfig.default(CameraRecordConfig.parse({})),
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

const KafkaSaslConfig = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1).max(255),
    password: z.string().min(1).max(1024),
  })
  .strict();

const KafkaTlsConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** PEM file of the CA(s) that signed the brokers' certificates; the system's CAs when absent. */
    ca: z.string().min(1).optional(),
    /** PEM files of this client's certificate and key, for brokers that require mutual TLS. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** Check the brokers' certificates and host names (turn off only for a lab cluster). */
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: 'cert and key go together',
    path: ['key'],
  });

const KafkaConfig = z
  .object({
    brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'HOST:PORT')).min(1),
    topicPrefix: z
      .string()
      .max(100)
      .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only')
      .default('iceberg.'),
    clientId: z.string().min(1).max(100).optional(),
    /** SASL authentication (PLAIN or SCRAM); over TLS unless `tls.enabled` is false. */
    sasl: KafkaSaslConfig.optional(),
    tls: KafkaTlsConfig.optional(),
    /**
     * Extra librdkafka properties for every client (e.g. `session.timeout.ms`); those the
     * delivery guarantees rest on (idempotence, acks, offset storing) cannot be changed.
     */
    settings: z
      .record(
        z.string().regex(/^[a-z][a-z0-9._]*$/, 'a librdkafka property name'),
        z.union([z.string(), z.number(), z.boolean()]),
      )
      .optional(),
  })
  .strict();
export type KafkaConfig = z.infer<typeof KafkaConfig>;

/** The device's store-and-forward outbox in front of Kafka (edge only). */
const OutboxConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Disk quota of the outbox; when full, raw detections are shed before track events. */
    maxBytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(256 * 1024 * 1024),
    /** Directory of the outbox files; default `<dataDir>/outbox`. */
    path: z.string().min(1).optional(),
  })
  .strict();
export type OutboxConfig = z.infer<typeof OutboxConfig>;

export const BusConfig = z
  .object({
    type: z.enum(['memory', 'kafka']).default('memory'),
    kafka: KafkaConfig.optional(),
    outbox: OutboxConfig.default({ enabled: true, maxBytes: 256 * 1024 * 1024 }),
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

/** The re-streaming server for live view: Debian's nginx with the RTMP module (docs/live-view.md). */
export const RestreamConfig = z
  .object({
    /** Run nginx inside `iceberg server`/`iceberg demo`; off: live view answers 503. */
    enabled: z.boolean().default(true),
    /** RTMP port devices publish to; 0 picks a free port (tests). */
    rtmpPort: z.number().int().min(0).max(65535).default(1935),
    /** The address devices publish to (put in their publish URL): this box as the devices reach it. */
    rtmpHost: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.:[\]-]+$/, 'a host name or IP address')
      .default('127.0.0.1'),
    /** Address nginx's RTMP listener binds: 127.0.0.1 (this box only) or 0.0.0.0 (devices on the network). */
    rtmpBind: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.:[\]-]+$/, 'an IP address')
      .default('127.0.0.1'),
    /** HLS segment length (nginx cuts at keyframes, so at least the camera's keyframe interval). */
    hlsFragmentSeconds: z.number().min(0.5).max(10).default(1),
    /** Length of the HLS live window. */
    hlsPlaylistSeconds: z.number().min(2).max(60).default(6),
    nginxPath: z.string().min(1).default('nginx'),
    /** The RTMP module of Debian's libnginx-mod-rtmp. */
    modulePath: z.string().min(1).default('/usr/lib/nginx/modules/ngx_rtmp_module.so'),
  })
  .strict();
export type RestreamConfig = z.infer<typeof RestreamConfig>;

/** Live sessions on the server (docs/live-view.md): who watches, and the commands to the device. */
export const ServerLiveConfig = z
  .object({
    /** A viewer that sent no heartbeat for this long has left; with no viewer left the stream stops. */
    viewerIdleSeconds: z.number().min(2).max(3600).default(30),
    /** A command the device did not acknowledge within this long fails (`device_unreachable`). */
    commandTimeoutSeconds: z.number().min(1).max(300).default(10),
    /** Re-sends of an unacknowledged command (same command id) within the timeout. */
    commandRetries: z.number().int().min(0).max(10).default(2),
    /** The device stops a stream by itself when not renewed for this long; the server renews every third of it. */
    streamTtlSeconds: z.number().int().min(6).max(3600).default(30),
    /** A device whose latest heartbeat is older than this is offline: a start fails at once (`device_offline`). */
    deviceOfflineSeconds: z.number().min(5).max(86_400).default(60),
    /** Lifetime of the signed playback URLs handed to a viewer (heartbeats return fresh ones). */
    playbackUrlSeconds: z.number().int().min(30).max(86_400).default(3600),
  })
  .strict();
export type ServerLiveConfig = z.infer<typeof ServerLiveConfig>;

/** The device's live push (the streaming agent, packages/edge/src/live). */
export const LiveConfig = z
  .object({
    push: z
      .object({
        /** Frame rate of the annotated stream (decoded, drawn on and encoded again: CPU grows with it). */
        annotatedFps: z.number().min(1).max(30).default(10),
        /** Widest annotated frame; narrower cameras are not enlarged. */
        annotatedMaxWidth: z.number().int().min(160).max(3840).default(1280),
        x264Preset: z
          .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'])
          .default('ultrafast'),
        /** Keyframe interval of the annotated stream (HLS segments start on keyframes). */
        keyframeSeconds: z.number().min(0.5).max(10).default(2),
        /** First wait before a broken push is started again (doubles up to 30 s). */
        restartBackoffSeconds: z.number().min(0.1).max(60).default(1),
        /** A push that does not send its first frame within this long has failed. */
        startTimeoutSeconds: z.number().min(2).max(120).default(20),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type LiveConfig = z.infer<typeof LiveConfig>;

/**
 * The device's local RTSP output, as DeepStream's: every enabled camera served on the local network
 * at rtsp://DEVICE:PORT/CAMERA by GStreamer's RTSP server (docs/live-view.md).
 */
export const RtspOutputConfig = z
  .object({
    enabled: z.boolean().default(false),
    port: z.number().int().min(0).max(65535).default(8554),
    /** Address to listen on: 0.0.0.0 (the local network) or 127.0.0.1 (this box only). */
    host: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[A-Za-z0-9.:[\]-]+$/, 'an IP address')
      .default('0.0.0.0'),
    /** Boxes, labels and track ids drawn on (x264 encode); false: the camera's own H.264, copied. */
    annotated: z.boolean().default(true),
  })
  .strict();
export type RtspOutputConfig = z.infer<typeof RtspOutputConfig>;

/** How the server reaches the devices' media endpoints (`recording.http` on each device). */
export const ServerDeviceMediaConfig = z
  .object({
    /** `"<orgId>/<deviceId>"` → that device's `recording.http.token`. */
    tokens: z
      .record(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, '"<orgId>/<deviceId>"'),
        z.string().min(24, 'at least 24 characters').max(512),
      )
      .default({}),
    /** A device that does not answer (connect, or the first byte) within this long cannot be reached. */
    timeoutSeconds: z.number().min(1).max(120).default(10),
  })
  .strict();
export type ServerDeviceMediaConfig = z.infer<typeof ServerDeviceMediaConfig>;

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
    restream: RestreamConfig.default(RestreamConfig.parse({})),
    live: ServerLiveConfig.prefault({}),
    /** Distributed playback: fetching recordings from the devices' media endpoints (docs/recording.md). */
    deviceMedia: ServerDeviceMediaConfig.prefault({}),
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
    bus: BusConfig.default({ type: 'memory', outbox: { enabled: true, maxBytes: 256 * 1024 * 1024 } }),
    detector: DetectorConfig.default(DetectorConfig.parse({})),
    tracker: TrackerConfig.default(TrackerConfig.parse({})),
    /** Seconds between device heartbeats. */
    heartbeatSeconds: Seconds.default(10),
    ffmpegPath: z.string().min(1).default('ffmpeg'),
    server: ServerConfig.default(ServerConfig.parse({})),
    recording: RecordingConfig.default(RecordingConfig.parse({})),
    /** The device's live push (on command from the server). */
    live: LiveConfig.prefault({}),
    /** The device's local RTSP output (rtsp://DEVICE:8554/CAMERA). */
    rtspOutput: RtspOutputConfig.prefault({}),
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
