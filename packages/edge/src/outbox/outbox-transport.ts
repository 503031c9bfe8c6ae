import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BusTransport,
  ConsumeOptions,
  OutgoingRecord,
  RecordHandler,
  TransportSubscription,
} from '@iceberg/bus';
import { errorMessage, IcebergError, type Logger, silentLogger } from '@iceberg/common';
import { OutboxQueue, type PeekedRecord, type QueuePosition } from './outbox-queue.ts';
import { encodeRecord } from './outbox-record.ts';

export interface OutboxOptions {
  /** Directory of the outbox (one sub-directory per topic). */
  dir: string;
  /** Disk quota over all topics. */
  maxBytes: number;
  /**
   * Full topic names in the order they are shed when the quota is full (first: raw detections,
   * then heartbeats). A record may only push out records of its own topic or of topics before
   * it in this list; anything else (track events, camera status, recordings, acks) is never
   * pushed out, and is refused only when the outbox is full of such records.
   */
  shedOrder: string[];
  /** Size at which a topic's segment file is closed and a new one begun (default: quota/16, 64 KiB–8 MiB). */
  segmentBytes?: number;
  /** Records and bytes handed to Kafka at once (default 500 and 1 MiB). */
  batchMaxRecords?: number;
  batchMaxBytes?: number;
  /** Pause after a failed hand-over, doubling up to the maximum (default 500 ms to 10 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long `close` keeps draining to a reachable Kafka before it leaves the rest on disk (default 5 s). */
  closeGraceMs?: number;
  logger?: Logger;
  now?: () => number;
}

export interface OutboxStats {
  /** Messages on disk not yet taken by Kafka. */
  pendingMessages: number;
  pendingBytes: number;
  /** Append time of the oldest pending message (at segment granularity); null when nothing is pending. */
  oldestPendingAt: number | null;
  /** Messages dropped because the quota was full, since start (per topic in `shedByTopic`). */
  shed: number;
  shedByTopic: Record<string, number>;
  /** Messages written to disk / handed to Kafka since start. */
  appended: number;
  delivered: number;
  /** Bytes of segment files on disk, and the quota. */
  diskBytes: number;
  maxBytes: number;
  /** Whether the last hand-over to Kafka succeeded. */
  linkUp: boolean;
  /** Records recovered from disk at start, and bytes of torn writes cut off. */
  recovered: { records: number; truncatedBytes: number };
}

interface PendingWrite {
  records: OutgoingRecord[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Store-and-forward in front of a bus transport (Kafka), so that a device keeps working as a
 * standalone DVR while its link is down. `produce` returns once the records are on disk
 * (fsync'd, many calls sharing one fsync); a background loop hands them to the inner transport
 * in the order they were written and removes them only once it has acknowledged them. The files
 * survive a restart and a power cut (a torn last record is cut off on start). A disk quota bounds
 * it: raw detections are shed first. Consuming goes straight to the inner transport.
 */
export class OutboxTransport implements BusTransport {
  readonly name: string;
  private readonly queues = new Map<string, OutboxQueue>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly segmentBytes: number;
  private readonly writes: PendingWrite[] = [];
  private writing = false;
  private seq: number;
  private closing = false;
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  private counters = { appended: 0, delivered: 0, shed: 0 };
  private readonly shedByTopic: Record<string, number> = {};
  private linkUp = true;
  private recovered = { records: 0, truncatedBytes: 0 };

  constructor(
    private readonly inner: BusTransport,
    private readonly options: OutboxOptions,
  ) {
    this.name = `outbox+${inner.name}`;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'outbox' });
    this.now = options.now ?? Date.now;
    this.segmentBytes =
      options.segmentBytes ??
      Math.min(8 * 1024 * 1024, Math.max(64 * 1024, Math.floor(options.maxBytes / 16)));
    try {
      mkdirSync(options.dir, { recursive: true });
    } catch (err) {
      throw new IcebergError(
        'ICEBERG_ERR_CONFIG_INVALID',
        `bus.outbox.path: cannot create ${options.dir}: ${errorMessage(err)}`,
      );
    }
    let maxSeq = 0;
    for (const entry of listDirs(options.dir)) {
      const q = this.queue(entry);
      maxSeq = Math.max(maxSeq, q.recovery.maxSeq);
      this.recovered.records += q.pendingMessages;
      this.recovered.truncatedBytes += q.recovery.truncatedBytes;
    }
    this.seq = maxSeq + 1;
    if (this.recovered.records > 0)
      this.logger.info(
        { pending: this.recovered.records, dir: options.dir },
        'outbox: messages kept from before the restart will be sent',
      );
    this.loop = this.drain();
  }

  /** Durably appends the records; resolves once they are on disk. */
  produce(records: OutgoingRecord[]): Promise<void> {
    if (this.closing)
      return Promise.reject(new IcebergError('ICEBERG_ERR_BUS_CLOSED', 'the outbox is closed'));
    if (records.length === 0) return Promise.resolve();
    try {
      for (const r of records) this.queue(r.topic);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.writes.push({ records, resolve, reject });
      if (!this.writing) void this.flushWrites();
    });
  }

  consume(options: ConsumeOptions, handler: RecordHandler): Promise<TransportSubscription> {
    return this.inner.consume(options, handler);
  }

  stats(): OutboxStats {
    let pendingMessages = 0;
    let pendingBytes = 0;
    let diskBytes = 0;
    let oldest: number | null = null;
    for (const q of this.queues.values()) {
      pendingMessages += q.pendingMessages;
      pendingBytes += q.pendingBytes;
      diskBytes += q.diskBytes;
      const at = q.oldestAt;
      if (at !== null && (oldest === null || at < oldest)) oldest = at;
    }
    return {
      pendingMessages,
      pendingBytes,
      oldestPendingAt: oldest,
      shed: this.counters.shed,
      shedByTopic: { ...this.shedByTopic },
      appended: this.counters.appended,
      delivered: this.counters.delivered,
      diskBytes,
      maxBytes: this.options.maxBytes,
      linkUp: this.linkUp,
      recovered: { ...this.recovered },
    };
  }

  /**
   * Stops taking messages, keeps handing the backlog over for up to `closeGraceMs` while Kafka
   * takes it, then closes the inner transport; whatever is left stays on disk for the next start.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    while (this.writing) await new Promise((resolve) => setTimeout(resolve, 5));
    const deadline = this.now() + (this.options.closeGraceMs ?? 5000);
    while (this.linkUp && this.stats().pendingMessages > 0 && this.now() < deadline) {
      this.wake?.();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.closed = true;
    this.wake?.();
    await this.inner.close(); // a hand-over still waiting on an unreachable Kafka fails now
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
    for (const q of this.queues.values()) q.close();
    const left = this.stats().pendingMessages;
    if (left > 0) this.logger.info({ pending: left }, 'outbox: messages left on disk for the next start');
  }

  private queue(topic: string): OutboxQueue {
    let q = this.queues.get(topic);
    if (!q) {
      if (!/^[A-Za-z0-9._-]+$/.test(topic) || topic === '.' || topic === '..')
        throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', `outbox: not a valid topic name: "${topic}"`);
      q = OutboxQueue.open(topic, join(this.options.dir, topic), this.segmentBytes, this.logger);
      this.queues.set(topic, q);
    }
    return q;
  }

  /** Group commit: every write waiting is appended, then one fsync per touched file for all of them. */
  private async flushWrites(): Promise<void> {
    this.writing = true;
    try {
      while (this.writes.length > 0) {
        const batch = this.writes.splice(0, this.writes.length);
        try {
          const touched = new Set<OutboxQueue>();
          for (const w of batch) for (const r of w.records) this.appendOne(r, touched);
          await Promise.all([...touched].map((q) => q.sync()));
          for (const w of batch) w.resolve();
          this.wake?.();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const error = new IcebergError(
            'ICEBERG_ERR_BUS_UNAVAILABLE',
            code === 'ENOSPC'
              ? `outbox: the disk is full (${this.options.dir}); lower bus.outbox.maxBytes or free space`
              : `outbox: cannot write to ${this.options.dir}: ${errorMessage(err)}`,
            { cause: err },
          );
          this.logger.error({ err: error.message }, 'outbox write failed');
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private appendOne(r: OutgoingRecord, touched: Set<OutboxQueue>): void {
    const at = this.now();
    const frame = encodeRecord({
      seq: this.seq,
      at,
      topic: r.topic,
      key: r.key,
      headers: r.headers,
      value: r.value,
    });
    const target = this.queue(r.topic);
    if (!this.makeRoom(r.topic, frame.length)) {
      this.shedOne(r.topic, 1);
      return;
    }
    this.seq++;
    target.append([{ frame, at }]);
    touched.add(target);
    this.counters.appended++;
  }

  /** Frees space for `bytes` more by shedding the oldest records of topics that rank no higher. */
  private makeRoom(topic: string, bytes: number): boolean {
    const order = this.options.shedOrder;
    const rank = order.indexOf(topic);
    const victims = rank === -1 ? order : order.slice(0, rank + 1);
    for (;;) {
      let used = 0;
      for (const q of this.queues.values()) used += q.diskBytes;
      if (used + bytes <= this.options.maxBytes) return true;
      const victim = victims.map((t) => this.queues.get(t)).find((q) => q && q.segmentCount > 0);
      if (!victim) return false;
      const { records } = victim.shedOldest();
      this.shedOne(victim.topic, records);
    }
  }

  private shedOne(topic: string, records: number): void {
    if (records === 0) return;
    this.counters.shed += records;
    this.shedByTopic[topic] = (this.shedByTopic[topic] ?? 0) + records;
    this.logger.warn(
      { topic, records, shed: this.counters.shed, maxBytes: this.options.maxBytes },
      'outbox full: oldest messages of the lowest priority shed',
    );
  }

  /** Takes the oldest pending records over all topics (in append order), up to the batch limits. */
  private nextBatch(): { records: PeekedRecord[]; acks: Map<OutboxQueue, QueuePosition> } {
    const max = this.options.batchMaxRecords ?? 500;
    const maxBytes = this.options.batchMaxBytes ?? 1024 * 1024;
    const candidates: Array<{ q: OutboxQueue; p: PeekedRecord }> = [];
    for (const q of this.queues.values()) for (const p of q.peek(max, maxBytes)) candidates.push({ q, p });
    candidates.sort((a, b) => a.p.record.seq - b.p.record.seq);
    const taken: typeof candidates = [];
    let bytes = 0;
    for (const c of candidates) {
      if (taken.length >= max || (taken.length > 0 && bytes + c.p.record.value.length > maxBytes)) break;
      taken.push(c);
      bytes += c.p.record.value.length;
    }
    // A queue's records are only taken as a prefix: cut each queue at its first record not taken.
    const acks = new Map<OutboxQueue, QueuePosition>();
    for (const { q, p } of taken) acks.set(q, p.next);
    return { records: taken.map((t) => t.p), acks };
  }

  private async drain(): Promise<void> {
    let delay = this.options.retryMinMs ?? 500;
    let failingSince: number | null = null;
    while (!this.closed) {
      const batch = this.nextBatch();
      if (batch.records.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      try {
        await this.inner.produce(
          batch.records.map(({ record: r }) => ({
            topic: r.topic,
            key: r.key,
            value: r.value,
            headers: r.headers,
          })),
        );
        for (const [q, pos] of batch.acks) q.ack(pos);
        this.counters.delivered += batch.records.length;
        delay = this.options.retryMinMs ?? 500;
        if (!this.linkUp) {
          this.logger.info(
            {
              downForMs: failingSince === null ? null : this.now() - failingSince,
              pending: this.stats().pendingMessages,
            },
            'outbox: Kafka takes messages again; sending the backlog',
          );
          this.linkUp = true;
          failingSince = null;
        }
      } catch (err) {
        if (this.closed) break;
        if (this.linkUp) {
          this.linkUp = false;
          failingSince = this.now();
          this.logger.warn(
            { err: errorMessage(err), pending: this.stats().pendingMessages },
            'outbox: Kafka does not take messages; keeping them on disk and retrying',
          );
        } else this.logger.debug({ err: errorMessage(err) }, 'outbox: retry failed');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            if (this.closed) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
        this.wake = null;
        delay = Math.min(delay * 2, this.options.retryMaxMs ?? 10_000);
      }
    }
  }
}

function listDirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}
