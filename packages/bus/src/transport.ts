/**
 * The Bus port's lower half: what an adapter (in-process memory, Kafka) must provide. It moves
 * bytes with Kafka's semantics — topics split into partitions by key, order kept per partition,
 * consumer groups that share partitions and commit what they have processed — so that code
 * written against the in-process bus behaves the same on Kafka.
 */
export interface OutgoingRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export interface IncomingRecord extends OutgoingRecord {
  partition: number;
  /** Position in the partition; what a consumer group commits. */
  offset: string;
  /** Broker/append time, epoch ms. */
  timestamp: number;
}

export interface ConsumeOptions {
  topics: string[];
  /** Consumer group: each message is delivered to one member of each group. */
  group: string;
  /** Where a group with no committed offset starts: the oldest retained message, or only new ones. */
  fromBeginning: boolean;
  /**
   * Members get the same partition numbers of every topic (Kafka: the range assignor), so records
   * keyed alike on different topics reach the same member. Default: partitions are spread freely.
   */
  coPartitioned?: boolean;
}

/**
 * Delivers records one at a time per partition; the record's offset is committed only after
 * the handler's promise resolves (at-least-once). A handler that rejects gets the same record
 * again (the typed Bus above retries and then dead-letters, so adapters only see settled outcomes).
 */
export type RecordHandler = (record: IncomingRecord) => Promise<void>;

export interface TransportSubscription {
  close(): Promise<void>;
}

export interface BusTransport {
  readonly name: string;
  produce(records: OutgoingRecord[]): Promise<void>;
  consume(options: ConsumeOptions, handler: RecordHandler): Promise<TransportSubscription>;
  close(): Promise<void>;
}
