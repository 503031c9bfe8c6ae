import { IcebergError } from '@iceberg/common';
import { partitionFor } from './partitioner.ts';
import type {
  BusTransport,
  ConsumeOptions,
  IncomingRecord,
  OutgoingRecord,
  RecordHandler,
  TransportSubscription,
} from './transport.ts';

export interface MemoryBusOptions {
  /** Partitions per topic (default 8). */
  partitions?: number;
  /** Messages kept per partition; the oldest are discarded past this (default 10,000). */
  retention?: number;
  /** Delay before a record whose handler failed is offered again (default 100 ms). */
  redeliveryDelayMs?: number;
}

interface Partition {
  /** Offset of records[0]. */
  base: number;
  records: IncomingRecord[];
}

interface Member {
  id: number;
  topics: Set<string>;
  handler: RecordHandler;
  closed: boolean;
}

interface Group {
  fromBeginning: boolean;
  members: Member[];
  /** `${topic}#${partition}` → next offset to deliver. */
  committed: Map<string, number>;
  /** Partitions with a delivery loop running. */
  pumping: Set<string>;
  /** Resolves when the in-flight handler of a partition settles (for clean close). */
  inflight: Map<string, Promise<void>>;
}

/**
 * The in-process bus: Kafka's semantics (partitions by key, per-partition order, consumer groups
 * sharing partitions, at-least-once with commit after processing) in memory. Used by the
 * all-in-one mode and by tests; nothing survives the process.
 */
export class MemoryBus implements BusTransport {
  readonly name = 'memory';
  private readonly partitions: number;
  private readonly retention: number;
  private readonly redeliveryDelayMs: number;
  private readonly logs = new Map<string, Partition[]>();
  private readonly groups = new Map<string, Group>();
  private nextMemberId = 1;
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.partitions = options.partitions ?? 8;
    this.retention = options.retention ?? 10_000;
    this.redeliveryDelayMs = options.redeliveryDelayMs ?? 100;
  }

  async produce(records: OutgoingRecord[]): Promise<void> {
    if (this.closed) throw new IcebergError('ICEBERG_ERR_BUS_CLOSED', 'the in-process bus is closed');
    const touched = new Set<string>();
    for (const r of records) {
      const partitions = this.topicLog(r.topic);
      const p = partitionFor(r.key, this.partitions);
      const log = partitions[p]!;
      log.records.push({
        ...r,
        partition: p,
        offset: String(log.base + log.records.length),
        timestamp: Date.now(),
      });
      if (log.records.length > this.retention) {
        const drop = log.records.length - this.retention;
        log.records.splice(0, drop);
        log.base += drop;
      }
      touched.add(`${r.topic}#${p}`);
    }
    for (const [, group] of this.groups) for (const tp of touched) this.pump(group, tp);
  }

  async consume(options: ConsumeOptions, handler: RecordHandler): Promise<TransportSubscription> {
    if (this.closed) throw new IcebergError('ICEBERG_ERR_BUS_CLOSED', 'the in-process bus is closed');
    let group = this.groups.get(options.group);
    if (!group) {
      group = {
        fromBeginning: options.fromBeginning,
        members: [],
        committed: new Map(),
        pumping: new Set(),
        inflight: new Map(),
      };
      this.groups.set(options.group, group);
    }
    const member: Member = {
      id: this.nextMemberId++,
      topics: new Set(options.topics),
      handler,
      closed: false,
    };
    for (const topic of options.topics) {
      const partitions = this.topicLog(topic);
      partitions.forEach((log, p) => {
        const tp = `${topic}#${p}`;
        if (!group.committed.has(tp))
          group.committed.set(tp, group.fromBeginning ? log.base : log.base + log.records.length);
      });
    }
    group.members.push(member);
    for (const topic of options.topics)
      for (let p = 0; p < this.partitions; p++) this.pump(group, `${topic}#${p}`);
    const g = group;
    return {
      close: async () => {
        member.closed = true;
        g.members = g.members.filter((m) => m !== member);
        await Promise.all([...g.inflight.values()]);
        // Partitions the member held move to the others (a rebalance).
        for (const topic of member.topics)
          for (let p = 0; p < this.partitions; p++) this.pump(g, `${topic}#${p}`);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const group of this.groups.values()) {
      for (const m of group.members) m.closed = true;
      await Promise.all([...group.inflight.values()]);
    }
  }

  /** Messages not yet processed by a group, over all its partitions (a consumer lag). */
  lag(groupName: string): number {
    const group = this.groups.get(groupName);
    if (!group) return 0;
    let lag = 0;
    for (const [tp, next] of group.committed) {
      const [topic, p] = splitTp(tp);
      const log = this.logs.get(topic)?.[p];
      if (log) lag += log.base + log.records.length - Math.max(next, log.base);
    }
    return lag;
  }

  private topicLog(topic: string): Partition[] {
    let partitions = this.logs.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: this.partitions }, () => ({ base: 0, records: [] }));
      this.logs.set(topic, partitions);
      // Groups already subscribed to this topic start at its beginning (it was empty).
      for (const group of this.groups.values())
        for (let p = 0; p < this.partitions; p++) group.committed.set(`${topic}#${p}`, 0);
    }
    return partitions;
  }

  /** The member that owns a partition: round-robin over the members subscribed to its topic. */
  private owner(group: Group, tp: string): Member | undefined {
    const [topic, p] = splitTp(tp);
    const members = group.members.filter((m) => !m.closed && m.topics.has(topic));
    if (members.length === 0) return undefined;
    return members[p % members.length];
  }

  private pump(group: Group, tp: string): void {
    if (group.pumping.has(tp) || this.closed) return;
    if (!this.owner(group, tp)) return;
    group.pumping.add(tp);
    const run = async () => {
      try {
        for (;;) {
          const member = this.owner(group, tp);
          if (!member || this.closed) return;
          const [topic, p] = splitTp(tp);
          const log = this.logs.get(topic)![p]!;
          let next = group.committed.get(tp) ?? log.base;
          if (next < log.base) next = log.base; // retention dropped what was never read
          const record = log.records[next - log.base];
          if (!record) return;
          const done = member.handler(record);
          group.inflight.set(
            tp,
            done.catch(() => undefined),
          );
          try {
            await done;
            group.committed.set(tp, next + 1);
          } catch {
            await new Promise((resolve) => setTimeout(resolve, this.redeliveryDelayMs));
          } finally {
            group.inflight.delete(tp);
          }
        }
      } finally {
        group.pumping.delete(tp);
      }
    };
    queueMicrotask(() => void run());
  }
}

function splitTp(tp: string): [string, number] {
  const i = tp.lastIndexOf('#');
  return [tp.slice(0, i), Number(tp.slice(i + 1))];
}
