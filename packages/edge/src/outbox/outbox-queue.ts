import {
  closeSync,
  fsync as fsyncCallback,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '@iceberg/common';
import { decodeRecord, frameHeaderBytes, type OutboxRecord } from './outbox-record.ts';

interface Segment {
  id: number;
  path: string;
  bytes: number;
  /** Whole records in the segment. */
  count: number;
  /** Append time of its first record (for the age of the backlog). */
  firstAt: number | null;
}

/** Where reading stopped: everything before it has been delivered. */
export interface QueuePosition {
  segment: number;
  offset: number;
  /** Records of the segment before `offset`. */
  index: number;
}

export interface PeekedRecord {
  record: OutboxRecord;
  /** The position just after this record. */
  next: QueuePosition;
}

export interface RecoveryReport {
  segments: number;
  records: number;
  /** Bytes cut off the end of a segment: a write torn by a crash or power cut, or corruption. */
  truncatedBytes: number;
  maxSeq: number;
}

const fsync = promisify(fsyncCallback);

const segmentName = (id: number) => `${String(id).padStart(12, '0')}.seg`;

/**
 * One topic's part of the outbox: append-only segment files and a cursor of what Kafka has
 * taken. Appends are synchronous writes; `sync()` makes them durable (fsync). Segments wholly
 * delivered are deleted; the oldest can be shed when the disk quota is full.
 */
export class OutboxQueue {
  private segments: Segment[] = [];
  private cursor: QueuePosition;
  private fd: number | null = null;
  private dirty = false;
  private dirDirty = false;
  private nextSegmentId: number;
  readonly recovery: RecoveryReport;

  private constructor(
    readonly topic: string,
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly logger: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
    const saved = this.readCursor();
    const report: RecoveryReport = { segments: 0, records: 0, truncatedBytes: 0, maxSeq: 0 };
    const ids = readdirSync(dir)
      .filter((n) => /^\d{12}\.seg$/.test(n))
      .map((n) => Number(n.slice(0, 12)))
      .sort((a, b) => a - b);
    ids.forEach((id, i) => {
      const seg = this.scan(id, i === ids.length - 1, report);
      if (seg) this.segments.push(seg);
    });
    this.nextSegmentId = Math.max(saved?.segment ?? 0, ids.at(-1) ?? 0) + 1;
    // The cursor: where it was, clamped to what is on disk.
    const head = this.segments[0];
    if (!head) this.cursor = { segment: this.nextSegmentId, offset: 0, index: 0 };
    else if (!saved || saved.segment < head.id) this.cursor = { segment: head.id, offset: 0, index: 0 };
    else {
      const seg = this.segments.find((s) => s.id === saved.segment);
      if (!seg) {
        // Everything up to a segment that no longer exists was delivered.
        const after = this.segments.find((s) => s.id > saved.segment);
        this.cursor = after
          ? { segment: after.id, offset: 0, index: 0 }
          : { segment: this.nextSegmentId, offset: 0, index: 0 };
      } else this.cursor = this.positionAt(seg, saved.offset);
    }
    // Segments wholly before the cursor were delivered.
    for (const seg of [...this.segments]) if (seg.id < this.cursor.segment) this.deleteSegment(seg);
    report.segments = this.segments.length;
    this.recovery = report;
  }

  static open(topic: string, dir: string, segmentBytes: number, logger: Logger): OutboxQueue {
    return new OutboxQueue(topic, dir, segmentBytes, logger);
  }

  get pendingMessages(): number {
    let n = 0;
    for (const s of this.segments) n += s.count;
    return n - (this.segments[0]?.id === this.cursor.segment ? this.cursor.index : 0);
  }

  get pendingBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes;
    return n - (this.segments[0]?.id === this.cursor.segment ? this.cursor.offset : 0);
  }

  /** Bytes on disk (what the quota counts). */
  get diskBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes;
    return n;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Append time of the oldest segment still holding pending records (an upper bound on the backlog's age). */
  get oldestAt(): number | null {
    return this.pendingMessages > 0 ? (this.segments[0]?.firstAt ?? null) : null;
  }

  /** Writes encoded records (not yet durable: call `sync`). */
  append(frames: Array<{ frame: Buffer; at: number }>): void {
    for (const { frame, at } of frames) {
      let active = this.segments.at(-1);
      if (!active || this.fd === null || active.bytes >= this.segmentBytes) active = this.rotate();
      writeSync(this.fd!, frame);
      active.bytes += frame.length;
      active.count += 1;
      active.firstAt ??= at;
      this.dirty = true;
    }
  }

  /** Makes appended records durable. */
  async sync(): Promise<void> {
    if (this.dirty && this.fd !== null) {
      this.dirty = false;
      await fsync(this.fd);
    }
    if (this.dirDirty) {
      this.dirDirty = false;
      syncDir(this.dir);
    }
  }

  /** Up to `max` records after the cursor, at most about `maxBytes` (always at least one). */
  peek(max: number, maxBytes: number): PeekedRecord[] {
    const out: PeekedRecord[] = [];
    let pos = this.cursor;
    let bytes = 0;
    for (const seg of this.segments) {
      if (seg.id < pos.segment) continue;
      if (seg.id > pos.segment) pos = { segment: seg.id, offset: 0, index: 0 };
      if (pos.offset >= seg.bytes) continue;
      const want = Math.min(seg.bytes - pos.offset, Math.max(maxBytes - bytes, 64 * 1024));
      let buf = this.read(seg, pos.offset, want);
      let at = 0;
      let n = 0;
      while (out.length < max && at < buf.length) {
        let d = decodeRecord(buf, at);
        if (d.kind === 'incomplete' && at === 0 && buf.length >= frameHeaderBytes) {
          // One record larger than the read: read all of it.
          buf = this.read(seg, pos.offset, frameHeaderBytes + buf.readUInt32LE(0));
          d = decodeRecord(buf, 0);
        }
        if (d.kind !== 'record') break;
        at += d.bytes;
        bytes += d.bytes;
        n++;
        const next = { segment: seg.id, offset: pos.offset + at, index: pos.index + n };
        out.push({ record: d.record, next });
        if (bytes >= maxBytes) return out;
      }
      if (out.length >= max) return out;
      pos = out.at(-1)?.next.segment === seg.id ? out.at(-1)!.next : pos;
      if (pos.offset < seg.bytes) return out; // could not read further in this segment
    }
    return out;
  }

  /** Kafka has taken everything before `pos`: move the cursor, persist it, delete delivered segments. */
  ack(pos: QueuePosition): void {
    if (pos.segment < this.cursor.segment) return; // that segment was shed meanwhile
    if (pos.segment === this.cursor.segment && pos.offset <= this.cursor.offset) return;
    if (!this.segments.some((s) => s.id === pos.segment)) return;
    // A jump past the end of earlier segments (records are taken in order, segment after segment).
    this.cursor = { ...pos };
    for (const seg of [...this.segments]) {
      const done =
        seg.id < this.cursor.segment || (seg.id === this.cursor.segment && this.cursor.offset >= seg.bytes);
      if (!done) break;
      if (seg === this.segments.at(-1)) break; // the active segment stays until it is rotated
      this.deleteSegment(seg);
      const after = this.segments[0];
      if (after && this.cursor.segment <= seg.id) this.cursor = { segment: after.id, offset: 0, index: 0 };
    }
    this.writeCursor();
  }

  /** Deletes the oldest segment; returns how many undelivered records and bytes went with it. */
  shedOldest(): { records: number; bytes: number } {
    const seg = this.segments[0];
    if (!seg) return { records: 0, bytes: 0 };
    const inCursor = seg.id === this.cursor.segment;
    const records = seg.count - (inCursor ? this.cursor.index : 0);
    const bytes = seg.bytes;
    this.deleteSegment(seg);
    const after = this.segments[0];
    this.cursor = after
      ? { segment: after.id, offset: 0, index: 0 }
      : { segment: this.nextSegmentId, offset: 0, index: 0 };
    this.writeCursor();
    return { records, bytes };
  }

  close(): void {
    if (this.fd !== null) {
      if (this.dirty) fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private rotate(): Segment {
    if (this.fd !== null) {
      if (this.dirty) fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = null;
      this.dirty = false;
    }
    const id = this.nextSegmentId++;
    const seg: Segment = { id, path: join(this.dir, segmentName(id)), bytes: 0, count: 0, firstAt: null };
    this.fd = openSync(seg.path, 'a');
    this.dirDirty = true;
    // A fully delivered segment before it is not needed any more.
    const last = this.segments.at(-1);
    if (last && this.cursor.segment === last.id && this.cursor.offset >= last.bytes) {
      this.deleteSegment(last);
      this.cursor = { segment: id, offset: 0, index: 0 };
    }
    if (this.segments.length === 0 && this.cursor.segment < id)
      this.cursor = { segment: id, offset: 0, index: 0 };
    this.segments.push(seg);
    return seg;
  }

  private deleteSegment(seg: Segment): void {
    if (seg === this.segments.at(-1) && this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
      this.dirty = false;
    }
    try {
      unlinkSync(seg.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.segments = this.segments.filter((s) => s !== seg);
  }

  private read(seg: Segment, offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, seg.bytes - offset)));
    const fd = openSync(seg.path, 'r');
    try {
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads a segment through, counting records; cuts off a torn or corrupt end. */
  private scan(id: number, last: boolean, report: RecoveryReport): Segment | null {
    const path = join(this.dir, segmentName(id));
    const buf = readFileSync(path);
    let at = 0;
    let count = 0;
    let firstAt: number | null = null;
    for (;;) {
      const d = decodeRecord(buf, at);
      if (d.kind !== 'record') {
        if (at < buf.length) {
          const lost = buf.length - at;
          report.truncatedBytes += lost;
          const log = d.kind === 'incomplete' && last ? this.logger.warn : this.logger.error;
          log.call(
            this.logger,
            {
              topic: this.topic,
              segment: id,
              offset: at,
              bytes: lost,
              why: d.kind === 'corrupt' ? d.reason : 'torn write',
            },
            'outbox: cut off the unreadable end of a segment (a write interrupted by a crash or power cut)',
          );
          const fd = openSync(path, 'r+');
          ftruncateSync(fd, at);
          fsyncSync(fd);
          closeSync(fd);
        }
        break;
      }
      count++;
      firstAt ??= d.record.at;
      report.maxSeq = Math.max(report.maxSeq, d.record.seq);
      at += d.bytes;
    }
    report.records += count;
    if (count === 0 && at === 0) {
      unlinkSync(path);
      return null;
    }
    if (last) {
      this.fd = openSync(path, 'a');
    }
    return { id, path, bytes: at, count, firstAt };
  }

  private positionAt(seg: Segment, offset: number): QueuePosition {
    if (offset <= 0) return { segment: seg.id, offset: 0, index: 0 };
    if (offset >= seg.bytes) return { segment: seg.id, offset: seg.bytes, index: seg.count };
    const buf = this.read(seg, 0, offset);
    let at = 0;
    let index = 0;
    while (at < offset) {
      const d = decodeRecord(buf, at);
      if (d.kind !== 'record') break;
      at += d.bytes;
      index++;
    }
    return { segment: seg.id, offset: at, index };
  }

  private readCursor(): { segment: number; offset: number } | null {
    try {
      const c = JSON.parse(readFileSync(join(this.dir, 'cursor.json'), 'utf8')) as {
        segment: unknown;
        offset: unknown;
      };
      if (Number.isInteger(c.segment) && Number.isInteger(c.offset))
        return { segment: c.segment as number, offset: c.offset as number };
    } catch {
      // No cursor (a new queue) or an unreadable one: start at the oldest segment (re-sends, never loses).
    }
    return null;
  }

  private writeCursor(): void {
    const file = join(this.dir, 'cursor.json');
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ segment: this.cursor.segment, offset: this.cursor.offset }));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems cannot fsync a directory; the segment's own fsync still holds its data.
  }
}

/** Size of a directory's segment files (for tests and tools). */
export function segmentFileBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) if (name.endsWith('.seg')) n += statSync(join(dir, name)).size;
  return n;
}
