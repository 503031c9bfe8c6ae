import { errorMessage, IcebergError, type Logger, silentLogger } from '@iceberg/common';
import {
  type KafkaJsClient,
  type KafkaJsConsumer,
  type KafkaJsMessage,
  type KafkaJsProducer,
  type KafkaLogger,
  loadKafkaModule,
} from './kafka-module.ts';
import {
  connectionSettings,
  consumerSettings,
  type KafkaConnection,
  type LibrdkafkaSettings,
  producerGuarantees,
  producerSettings,
} from './kafka-options.ts';
import { RepeatFilter } from './repeat-filter.ts';
import type {
  BusTransport,
  ConsumeOptions,
  IncomingRecord,
  OutgoingRecord,
  RecordHandler,
  TransportSubscription,
} from './transport.ts';

export interface KafkaBusOptions extends KafkaConnection {
  logger?: Logger;
  /** Extra librdkafka settings for every client (e.g. shorter timeouts in tests). */
  settings?: LibrdkafkaSettings;
  /** Extra librdkafka settings of the producer / of each consumer. */
  producerSettings?: LibrdkafkaSettings;
  consumerSettings?: LibrdkafkaSettings;
  /** Partitions of one subscription processed at once (order is kept within each; default 4). */
  partitionsConsumedConcurrently?: number;
  /** Pause before a record whose handler failed is offered again (default 1 s). */
  redeliveryDelayMs?: number;
  /** How the optional client package is loaded (tests: a loader that fails). */
  loadModule?: (name: string) => unknown;
}

interface TopicPartition {
  topic: string;
  partition: number;
  offset?: number;
}

interface ConsumerEntry {
  group: string;
  topics: string[];
  consumer: KafkaJsConsumer;
  /** Partitions currently assigned (`topic#partition`). */
  assigned: Set<string>;
  /** Resolves at the member's first assignment (which may be empty). */
  firstAssignment: Promise<void>;
  closing: boolean;
}

/**
 * The Bus transport over Apache Kafka (`@confluentinc/kafka-javascript`, librdkafka inside).
 * Producer: idempotent, acks=all, one per process. Consumers: one group member per
 * subscription; a record's offset is stored only after its handler resolves and committed from
 * there (at-least-once), so a crash or a rebalance re-delivers rather than loses; a handler that
 * rejects gets the same record again after a pause.
 */
export class KafkaBus implements BusTransport {
  readonly name = 'kafka';
  readonly counters = { produced: 0, consumed: 0, redelivered: 0 };
  private readonly kafka: KafkaJsClient;
  private readonly logger: Logger;
  private producer: Promise<KafkaJsProducer> | null = null;
  private readonly consumers = new Set<ConsumerEntry>();
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    const mod = loadKafkaModule(options.loadModule);
    this.logger = (options.logger ?? silentLogger()).child({ component: 'kafka' });
    this.kafka = new mod.KafkaJS.Kafka({
      ...options.settings,
      ...connectionSettings(options),
      kafkaJS: { logger: kafkaLogger(this.logger), logLevel: 4 /* warn and worse */ },
    });
  }

  async produce(records: OutgoingRecord[]): Promise<void> {
    if (this.closed) throw new IcebergError('ICEBERG_ERR_BUS_CLOSED', 'the Kafka bus is closed');
    if (records.length === 0) return;
    const producer = await this.connectProducer();
    const byTopic = new Map<string, Array<{ key: string; value: Buffer; headers: Record<string, string> }>>();
    for (const r of records) {
      let list = byTopic.get(r.topic);
      if (!list) {
        list = [];
        byTopic.set(r.topic, list);
      }
      list.push({ key: r.key, value: r.value, headers: r.headers });
    }
    try {
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (err) {
      throw new IcebergError(
        'ICEBERG_ERR_BUS_UNAVAILABLE',
        `Kafka did not take the messages: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    this.counters.produced += records.length;
  }

  async consume(options: ConsumeOptions, handler: RecordHandler): Promise<TransportSubscription> {
    if (this.closed) throw new IcebergError('ICEBERG_ERR_BUS_CLOSED', 'the Kafka bus is closed');
    let markAssigned: () => void = () => undefined;
    const entry: ConsumerEntry = {
      group: options.group,
      topics: options.topics,
      consumer: undefined as unknown as KafkaJsConsumer,
      assigned: new Set(),
      firstAssignment: new Promise<void>((resolve) => {
        markAssigned = resolve;
      }),
      closing: false,
    };
    entry.consumer = this.kafka.consumer({
      ...consumerSettings,
      'group.id': options.group,
      ...this.options.consumerSettings,
      // Range gives each member the same partition numbers of every topic it reads.
      ...(options.coPartitioned ? { 'partition.assignment.strategy': 'range' } : {}),
      'auto.offset.reset': options.fromBeginning ? 'earliest' : 'latest',
      rebalance_cb: async (err: { code: number }, assignment: TopicPartition[]) => {
        // -175: partitions assigned; -174: revoked (librdkafka's codes).
        if (err.code === -175) {
          for (const tp of assignment) entry.assigned.add(`${tp.topic}#${tp.partition}`);
          this.logger.info(
            { group: options.group, topics: options.topics, partitions: assignment.length },
            'kafka partitions assigned',
          );
          if (options.fromBeginning) {
            markAssigned();
            return undefined;
          }
          return this.startAtEnd(entry, assignment, markAssigned);
        }
        if (err.code === -174) {
          for (const tp of assignment) entry.assigned.delete(`${tp.topic}#${tp.partition}`);
          this.logger.info(
            { group: options.group, topics: options.topics, partitions: assignment.length },
            'kafka partitions revoked',
          );
        }
        return undefined;
      },
    });
    const redeliveryDelayMs = this.options.redeliveryDelayMs ?? 1000;
    try {
      await entry.consumer.connect();
      if (options.coPartitioned) await this.checkCoPartitioned(entry.consumer, options.topics);
      await entry.consumer.subscribe({ topics: options.topics });
      await entry.consumer.run({
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
        eachMessage: async ({ topic, partition, message }) => {
          const record = toIncoming(topic, partition, message);
          try {
            await handler(record);
            this.counters.consumed++;
          } catch (err) {
            // Not stored: the client seeks back and offers the same record again.
            this.counters.redelivered++;
            this.logger.warn(
              { topic, partition, offset: record.offset, err: errorMessage(err) },
              'handler failed; the record will be delivered again',
            );
            await new Promise((resolve) => setTimeout(resolve, redeliveryDelayMs));
            throw err;
          }
        },
      });
    } catch (err) {
      await entry.consumer.disconnect().catch(() => undefined);
      if (err instanceof IcebergError) throw err;
      throw new IcebergError(
        'ICEBERG_ERR_BUS_UNAVAILABLE',
        `cannot consume ${options.topics.join(', ')} from Kafka (brokers ${this.options.brokers.join(',')}): ${errorMessage(err)}`,
        { cause: err },
      );
    }
    this.consumers.add(entry);
    return {
      close: async () => {
        if (entry.closing) return;
        entry.closing = true;
        this.consumers.delete(entry);
        // Waits for the handlers in flight, commits what they stored, leaves the group.
        await entry.consumer
          .disconnect()
          .catch((err) =>
            this.logger.warn({ group: options.group, err: errorMessage(err) }, 'kafka consumer close'),
          );
      },
    };
  }

  /**
   * Resolves once every consumer made so far has had its first partition assignment: from then
   * on a new group (starting at the end of its topics) sees every message produced.
   */
  async ready(timeoutMs = 60_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new IcebergError(
              'ICEBERG_ERR_BUS_UNAVAILABLE',
              `Kafka consumer groups did not get their partitions within ${timeoutMs} ms (brokers ${this.options.brokers.join(',')})`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all([...this.consumers].map((c) => c.firstAssignment)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Partitions assigned to this process, per consumer group (for metrics and tests). */
  assignments(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const c of this.consumers) {
      out[c.group] ??= [];
      out[c.group]!.push(...c.assigned);
    }
    for (const list of Object.values(out)) list.sort();
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.all(consumers.map((c) => c.consumer.disconnect().catch(() => undefined)));
    if (this.producer) {
      const producer = await this.producer.catch(() => null);
      if (producer) {
        // Delivers what is queued if Kafka is there; gives up after the timeout if not.
        await producer.flush({ timeout: 5000 }).catch(() => undefined);
        await producer.disconnect().catch(() => undefined);
      }
    }
  }

  /**
   * Topics read co-partitioned must have as many partitions each, or a key's messages would sit
   * in partitions of different numbers and reach different members. Topics the cluster does not
   * describe (not created yet) are not checked.
   */
  private async checkCoPartitioned(consumer: KafkaJsConsumer, topics: string[]): Promise<void> {
    const internal = consumer._getInternalClient();
    const counts = await Promise.all(
      topics.map(
        (topic) =>
          new Promise<{ topic: string; partitions: number }>((resolve) =>
            internal.getMetadata({ topic, timeout: 10_000 }, (err, metadata) =>
              resolve({
                topic,
                partitions: err
                  ? 0
                  : (metadata?.topics.find((t) => t.name === topic)?.partitions.length ?? 0),
              }),
            ),
          ),
      ),
    );
    const known = counts.filter((c) => c.partitions > 0);
    if (new Set(known.map((c) => c.partitions)).size > 1)
      throw new IcebergError(
        'ICEBERG_ERR_CONFIG_INVALID',
        `${known.map((c) => `${c.topic} has ${c.partitions} partitions`).join(', ')}: these topics are read together, keyed alike, and need the same number of partitions (see docs/kafka.md)`,
      );
  }

  /**
   * A group that starts "at the end" (not from the beginning) must not depend on when the client
   * gets round to looking the end up: partitions the group never committed start at the end as
   * it is now, that position is committed at once (a later rebalance resumes there), and only
   * then is the member ready. Everything produced after `ready()` is seen.
   */
  private async startAtEnd(
    entry: ConsumerEntry,
    assignment: TopicPartition[],
    markAssigned: () => void,
  ): Promise<TopicPartition[] | undefined> {
    if (assignment.length === 0) {
      markAssigned();
      return undefined;
    }
    const internal = entry.consumer._getInternalClient();
    try {
      const committed = await new Promise<TopicPartition[]>((resolve, reject) =>
        internal.committed(assignment, 10_000, (e, offsets) => (e ? reject(e) : resolve(offsets ?? []))),
      );
      // A partition whose lookup failed comes back as an Error in its place (e.g. just after the
      // brokers return). Taking it for "never committed" would skip to the end past everything
      // produced meanwhile: when in doubt, the client looks the committed offsets up itself.
      const unknown = assignment.filter(
        (tp) => !committed.some((o) => o?.topic === tp.topic && o.partition === tp.partition),
      );
      if (unknown.length > 0)
        throw new Error(
          `no committed offset answer for ${unknown.map((tp) => `${tp.topic}#${tp.partition}`).join(', ')}`,
        );
      const fresh = assignment.filter((tp) => {
        const c = committed.find((o) => o.topic === tp.topic && o.partition === tp.partition);
        return !c || c.offset === undefined || c.offset < 0;
      });
      if (fresh.length === 0) {
        markAssigned();
        return undefined;
      }
      const ends = await Promise.all(
        fresh.map(
          (tp) =>
            new Promise<TopicPartition>((resolve, reject) =>
              internal.queryWatermarkOffsets(tp.topic, tp.partition, 10_000, (e, w) =>
                e ? reject(e) : resolve({ topic: tp.topic, partition: tp.partition, offset: w.highOffset }),
              ),
            ),
        ),
      );
      const positioned = assignment.map(
        (tp) => ends.find((e) => e.topic === tp.topic && e.partition === tp.partition) ?? tp,
      );
      setImmediate(() => {
        entry.consumer
          .commitOffsets(
            ends.map((e) => ({ topic: e.topic, partition: e.partition, offset: String(e.offset) })),
          )
          .catch((e: unknown) =>
            this.logger.warn({ group: entry.group, err: errorMessage(e) }, 'kafka: first commit failed'),
          )
          .finally(markAssigned);
      });
      return positioned;
    } catch (e) {
      // Fall back to the client's own positions: the committed offset, else the end.
      this.logger.warn(
        { group: entry.group, err: errorMessage(e) },
        'kafka: cannot look up committed offsets; the client resumes from them itself',
      );
      markAssigned();
      return undefined;
    }
  }

  private connectProducer(): Promise<KafkaJsProducer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        ...producerSettings,
        ...this.options.producerSettings,
        ...producerGuarantees,
      });
      this.producer = producer.connect().then(
        () => producer,
        (err: unknown) => {
          this.producer = null;
          throw new IcebergError(
            'ICEBERG_ERR_BUS_UNAVAILABLE',
            `cannot connect to Kafka: ${errorMessage(err)}`,
            {
              cause: err,
            },
          );
        },
      );
    }
    return this.producer;
  }
}

function toIncoming(topic: string, partition: number, m: KafkaJsMessage): IncomingRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (v === undefined) continue;
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return {
    topic,
    partition,
    offset: m.offset,
    timestamp: Number(m.timestamp) || Date.now(),
    key: m.key ? m.key.toString('utf8') : '',
    value: m.value ?? Buffer.alloc(0),
    headers,
  };
}

/**
 * The client's own log lines into pino (warnings and errors; its info lines are chatty). A
 * warning or error repeated within 10 s is written once, the next copy saying how many were
 * dropped (`repeated`).
 */
function kafkaLogger(logger: Logger): KafkaLogger {
  const repeats = new RepeatFilter();
  const once = (level: 'warn' | 'error', message: string, extra?: object) => {
    const dropped = repeats.pass(`${level} ${message}`);
    if (dropped === undefined) return;
    logger[level]({ kafka: extra, ...(dropped > 0 ? { repeated: dropped } : {}) }, message);
  };
  const self: KafkaLogger = {
    info: (message, extra) => logger.debug({ kafka: extra }, message),
    warn: (message, extra) => once('warn', message, extra),
    error: (message, extra) => once('error', message, extra),
    debug: (message, extra) => logger.trace({ kafka: extra }, message),
    namespace: () => self,
    setLogLevel: () => undefined,
  };
  return self;
}
