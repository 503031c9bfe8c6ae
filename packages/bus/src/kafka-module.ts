import { createRequire } from 'node:module';
import { errorMessage, IcebergError } from '@iceberg/common';

/**
 * The parts of `@confluentinc/kafka-javascript` (its KafkaJS-style API) that Iceberg uses,
 * typed here so that the code type-checks and the all-in-one default runs without the package:
 * it is an optional dependency, loaded only when Kafka is configured.
 */
export type KafkaSettings = Record<string, string | number | boolean | unknown>;

export interface KafkaLogger {
  info(message: string, extra?: object): void;
  warn(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
  debug(message: string, extra?: object): void;
  namespace(namespace: string, level?: number): KafkaLogger;
  setLogLevel(level: number): void;
}

export interface KafkaJsMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  offset: string;
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
}

export interface KafkaJsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: {
    topic: string;
    messages: Array<{ key: string; value: Buffer; headers: Record<string, string> }>;
  }): Promise<unknown>;
  sendBatch(batch: {
    topicMessages: Array<{
      topic: string;
      messages: Array<{ key: string; value: Buffer; headers: Record<string, string> }>;
    }>;
  }): Promise<unknown>;
  flush(options?: { timeout?: number }): Promise<void>;
}

export interface KafkaJsConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: { topics: string[] }): Promise<void>;
  run(config: {
    partitionsConsumedConcurrently?: number;
    eachMessage: (payload: { topic: string; partition: number; message: KafkaJsMessage }) => Promise<void>;
  }): Promise<void>;
  commitOffsets(offsets?: Array<{ topic: string; partition: number; offset: string }>): Promise<void>;
  /** The node-rdkafka consumer underneath. */
  _getInternalClient(): RdKafkaConsumer;
}

export interface RdKafkaConsumer {
  getMetadata(
    options: { topic?: string; timeout?: number },
    cb: (
      err: unknown,
      metadata?: { topics: Array<{ name: string; partitions: Array<{ id: number }> }> },
    ) => void,
  ): void;
  committed(
    toppars: Array<{ topic: string; partition: number }>,
    timeoutMs: number,
    cb: (err: unknown, offsets?: Array<{ topic: string; partition: number; offset?: number }>) => void,
  ): void;
  queryWatermarkOffsets(
    topic: string,
    partition: number,
    timeoutMs: number,
    cb: (err: unknown, offsets: { highOffset: number; lowOffset: number }) => void,
  ): void;
}

export interface KafkaJsClient {
  producer(config?: KafkaSettings): KafkaJsProducer;
  consumer(config: KafkaSettings): KafkaJsConsumer;
}

export interface KafkaModule {
  KafkaJS: { Kafka: new (config: KafkaSettings) => KafkaJsClient };
  librdkafkaVersion: string;
  features: string[];
}

export const kafkaPackageName = '@confluentinc/kafka-javascript';

let cached: KafkaModule | null = null;

/**
 * Loads the Kafka client. Missing or unbuilt, it throws ICEBERG_ERR_BUS_UNAVAILABLE saying what
 * to install; the in-process bus never calls this.
 */
export function loadKafkaModule(load?: (name: string) => unknown): KafkaModule {
  if (cached && !load) return cached;
  let mod: KafkaModule;
  try {
    mod = (load ?? createRequire(import.meta.url))(kafkaPackageName) as KafkaModule;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
    throw new IcebergError(
      'ICEBERG_ERR_BUS_UNAVAILABLE',
      missing
        ? `the Kafka bus is configured but its client, the optional package ${kafkaPackageName}, is not installed: ` +
            `install the build tools (apt-get install gcc g++ make python3 libssl-dev libsasl2-dev libzstd-dev liblz4-dev libcurl4-openssl-dev) ` +
            `and run CKJS_LINKING=dynamic npm install (see docs/kafka.md), or use bus.type memory`
        : `the Kafka bus is configured but its client ${kafkaPackageName} cannot be loaded (${errorMessage(err)}): ` +
            `rebuild it with CKJS_LINKING=dynamic npm rebuild ${kafkaPackageName} (see docs/kafka.md)`,
      { cause: err },
    );
  }
  if (!mod?.KafkaJS?.Kafka)
    throw new IcebergError(
      'ICEBERG_ERR_BUS_UNAVAILABLE',
      `${kafkaPackageName} does not provide the KafkaJS API Iceberg expects (version 1.x)`,
    );
  if (!load) cached = mod;
  return mod;
}
