import { errorMessage, type Logger, silentLogger } from '@iceberg/common';
import {
  assertMessage,
  type DeadLetterV1,
  decodeMessage,
  headerNames,
  type TopicMessage,
  type TopicName,
  topics,
} from '@iceberg/contracts';
import type { BusTransport, IncomingRecord, TransportSubscription } from './transport.ts';

export interface MessageMeta {
  topic: TopicName;
  key: string;
  partition: number;
  offset: string;
  timestamp: number;
  headers: Record<string, string>;
}

export type MessageHandler<T extends TopicName> = (
  message: TopicMessage<T>,
  meta: MessageMeta,
) => Promise<void>;

export interface SubscribeOptions {
  group: string;
  fromBeginning?: boolean;
  /** Attempts of a failing handler before the message is dead-lettered (default 3). */
  maxAttempts?: number;
  /** Delay between attempts, doubled each time (default 200 ms). */
  retryDelayMs?: number;
  /**
   * Park malformed messages on the dead-letter topic (default true). A second consumer group of
   * the same topic sets false so that one bad message is parked once, not once per group; it
   * still counts and logs it.
   */
  deadLetterInvalid?: boolean;
}

export interface BusOptions {
  /** Prefix of every topic on the transport (Kafka: default `iceberg.`; memory: ''). */
  topicPrefix?: string;
  logger?: Logger;
}

export interface BusCounters {
  published: number;
  consumed: number;
  invalid: number;
  handlerFailures: number;
  deadLettered: number;
}

/**
 * The Bus port: typed publish and subscribe over a transport. Producer and consumer both parse
 * against the topic's schema: a producer bug throws before anything is sent; a malformed
 * incoming message is counted, logged and parked on the dead-letter topic, never crashes the
 * consumer and is never silently dropped. Handlers that keep failing are dead-lettered too, so
 * one poison message cannot block its partition.
 */
export class Bus {
  readonly counters: BusCounters = {
    published: 0,
    consumed: 0,
    invalid: 0,
    handlerFailures: 0,
    deadLettered: 0,
  };
  private readonly prefix: string;
  private readonly logger: Logger;

  constructor(
    readonly transport: BusTransport,
    options: BusOptions = {},
  ) {
    this.prefix = options.topicPrefix ?? '';
    this.logger = options.logger ?? silentLogger();
  }

  topicName(topic: TopicName): string {
    return this.prefix + topics[topic].name;
  }

  async publish<T extends TopicName>(topic: T, message: TopicMessage<T>): Promise<void> {
    await this.publishMany(topic, [message]);
  }

  async publishMany<T extends TopicName>(topic: T, messages: TopicMessage<T>[]): Promise<void> {
    if (messages.length === 0) return;
    const spec = topics[topic];
    const records = messages.map((message) => {
      const valid = assertMessage(topic, message);
      const origin = valid as { orgId?: string; deviceId?: string };
      const headers: Record<string, string> = { [headerNames.schema]: spec.schemaName };
      if (origin.orgId) headers[headerNames.org] = origin.orgId;
      if (origin.deviceId) headers[headerNames.device] = origin.deviceId;
      // biome-ignore lint/suspicious/noExplicitAny: the registry ties each key function to its own schema
      const key = (spec.key as (m: any) => string)(valid);
      return { topic: this.topicName(topic), key, value: Buffer.from(JSON.stringify(valid)), headers };
    });
    await this.transport.produce(records);
    this.counters.published += records.length;
  }

  async subscribe<T extends TopicName>(
    topic: T,
    options: SubscribeOptions,
    handler: MessageHandler<T>,
  ): Promise<TransportSubscription> {
    return this.transport.consume(
      {
        topics: [this.topicName(topic)],
        group: options.group,
        fromBeginning: options.fromBeginning ?? false,
      },
      (record) => this.handleRecord(topic, record, options, handler),
    );
  }

  /**
   * One subscription (one group member) to several topics, a handler per topic: fewer members
   * make rebalances quicker. With `coPartitioned`, members get the same partition numbers of every
   * topic, so the messages of one key (a camera) on all of them reach the same member, which may
   * then keep that key's state; the topics need the same number of partitions.
   */
  async subscribeMany<T extends TopicName>(
    handlers: { [K in T]: MessageHandler<K> },
    options: SubscribeOptions & { coPartitioned?: boolean },
  ): Promise<TransportSubscription> {
    const byName = new Map<string, T>();
    for (const topic of Object.keys(handlers) as T[]) byName.set(this.topicName(topic), topic);
    return this.transport.consume(
      {
        topics: [...byName.keys()],
        group: options.group,
        fromBeginning: options.fromBeginning ?? false,
        coPartitioned: options.coPartitioned ?? false,
      },
      (record) => {
        const topic = byName.get(record.topic);
        if (topic === undefined) throw new Error(`a record of topic ${record.topic}, not subscribed`);
        return this.handleRecord(topic, record, options, handlers[topic] as MessageHandler<T>);
      },
    );
  }

  /** Parses a record against its topic's schema and runs the handler, retrying and dead-lettering. */
  private async handleRecord<T extends TopicName>(
    topic: T,
    record: IncomingRecord,
    options: SubscribeOptions,
    handler: MessageHandler<T>,
  ): Promise<void> {
    const maxAttempts = options.maxAttempts ?? 3;
    const retryDelayMs = options.retryDelayMs ?? 200;
    const meta: MessageMeta = {
      topic,
      key: record.key,
      partition: record.partition,
      offset: record.offset,
      timestamp: record.timestamp,
      headers: record.headers,
    };
    const parsed = decodeMessage(topic, record.value);
    if (!parsed.ok) {
      this.counters.invalid++;
      this.logger.warn(
        { topic, key: record.key, offset: record.offset, error: parsed.error },
        'invalid message',
      );
      if (options.deadLetterInvalid ?? true)
        await this.deadLetter(topic, record, options.group, 'invalid', parsed.error);
      return;
    }
    this.counters.consumed++;
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(parsed.value, meta);
        return;
      } catch (err) {
        this.counters.handlerFailures++;
        if (attempt >= maxAttempts) {
          this.logger.error(
            { topic, key: record.key, offset: record.offset, err: errorMessage(err) },
            'handler failed, message dead-lettered',
          );
          await this.deadLetter(topic, record, options.group, 'handler_failed', errorMessage(err));
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private async deadLetter(
    topic: TopicName,
    record: IncomingRecord,
    group: string,
    reason: DeadLetterV1['reason'],
    error: string,
  ): Promise<void> {
    const utf8 = record.value.toString('utf8');
    const isUtf8 = Buffer.from(utf8, 'utf8').equals(record.value);
    const letter: DeadLetterV1 = {
      schema: 'dead-letter.v1',
      topic: topics[topic].name,
      key: record.key.slice(0, 1024),
      value: (isUtf8 ? utf8 : record.value.toString('base64')).slice(0, 1_048_576),
      encoding: isUtf8 ? 'utf8' : 'base64',
      headers: record.headers,
      reason,
      error: error.slice(0, 2000),
      group,
      at: Date.now(),
    };
    // If even the dead-letter topic cannot take it, throw: the transport redelivers, nothing is lost.
    await this.publish('deadLetters', letter);
    this.counters.deadLettered++;
  }
}
