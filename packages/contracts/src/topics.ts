import type { z } from 'zod';
import { CommandAckV1, CommandV1 } from './command.ts';
import { DeadLetterV1 } from './dead-letter.ts';
import { DetectionFrameV1 } from './detection.ts';
import { RecordingEventV1 } from './recording.ts';
import { CameraStatusV1, DeviceStatusV1 } from './status.ts';
import { TrackEventV1 } from './track.ts';

/**
 * The one registry of topics: their names (without the deployment prefix), the message schema
 * each carries and the key that orders it. Ordering is per key: everything about one camera
 * (or one device) is delivered in the order it was published.
 */
export interface TopicSpec<S extends z.ZodType> {
  /** Name without prefix; Kafka adds the configured prefix (default `iceberg.`). */
  readonly name: string;
  readonly schema: S;
  /** The `schema` field's value in every message of this topic. */
  readonly schemaName: string;
  readonly key: (message: z.infer<S>) => string;
  readonly description: string;
}

function topic<S extends z.ZodType>(spec: TopicSpec<S>): TopicSpec<S> {
  return Object.freeze(spec);
}

const byCamera = (m: { orgId: string; cameraId: string }) => `${m.orgId}/${m.cameraId}`;
const byDevice = (m: { orgId: string; deviceId: string }) => `${m.orgId}/${m.deviceId}`;

export const topics = {
  detections: topic({
    name: 'detections',
    schema: DetectionFrameV1,
    schemaName: 'detection.v1',
    key: byCamera,
    description: 'Objects found in each analysed frame, keyed by camera.',
  }),
  tracks: topic({
    name: 'tracks',
    schema: TrackEventV1,
    schemaName: 'track.v1',
    key: byCamera,
    description: 'TrackStarted / TrackUpdated / TrackEnded, keyed by camera.',
  }),
  cameraStatus: topic({
    name: 'camera-status',
    schema: CameraStatusV1,
    schemaName: 'camera-status.v1',
    key: byCamera,
    description: 'Every change of a camera state (connecting, online, offline with reason), keyed by camera.',
  }),
  deviceStatus: topic({
    name: 'device-status',
    schema: DeviceStatusV1,
    schemaName: 'device-status.v1',
    key: byDevice,
    description: 'Device heartbeats, keyed by device.',
  }),
  recordings: topic({
    name: 'recordings',
    schema: RecordingEventV1,
    schemaName: 'recording.v1',
    key: byCamera,
    description:
      'The DVR segment index (SegmentRecorded / SegmentsDeleted) and recorder state, keyed by camera.',
  }),
  commands: topic({
    name: 'commands',
    schema: CommandV1,
    schemaName: 'command.v1',
    key: byDevice,
    description:
      'Server → device commands (StartStream / StopStream / ProtectRecording), keyed by the addressed device.',
  }),
  commandAcks: topic({
    name: 'command-acks',
    schema: CommandAckV1,
    schemaName: 'command-ack.v1',
    key: byDevice,
    description:
      'Device → server acknowledgements of commands (accepted, started, failed, stopped), keyed by device.',
  }),
  deadLetters: topic({
    name: 'dead-letters',
    schema: DeadLetterV1,
    schemaName: 'dead-letter.v1',
    key: (m) => `${m.topic}/${m.key}`,
    description: 'Messages that failed their schema or whose handler kept failing, with the reason.',
  }),
} as const;

export type Topics = typeof topics;
export type TopicName = keyof Topics;
export type TopicMessage<T extends TopicName> = z.infer<Topics[T]['schema']>;

export const topicNames = Object.keys(topics) as TopicName[];

/** Message headers every producer sets (Kafka headers; the in-process bus carries them too). */
export const headerNames = {
  schema: 'iceberg-schema',
  org: 'iceberg-org',
  device: 'iceberg-device',
} as const;
