import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { errorMessage, type Logger, silentLogger } from '@iceberg/common';
import { type RecordingSegmentV1, RecordingSegmentV1 as SegmentSchema } from '@iceberg/contracts';
import { inspectFmp4, isPlayable } from './fmp4.ts';

/** A segment in the device's index: the wire record plus what only the device needs. */
export interface StoredSegment {
  segment: RecordingSegmentV1;
  /** Overlaps a track or an alert: kept `recording.protectedDays` whatever the age caps say. */
  protected: boolean;
  /** Events mode: closed, not yet known to be wanted (not reported to the server yet). */
  pending: boolean;
}

type IndexLine =
  | { op: 'add'; s: StoredSegment }
  | { op: 'set'; id: string; protected?: boolean; pending?: boolean }
  | { op: 'del'; ids: string[] };

/** The directory of one camera's recordings, relative to the data directory. */
export function cameraRecordingsRef(orgId: string, cameraId: string): string {
  return ['recordings', orgId, cameraId].join('/');
}

/** `recordings/<org>/<camera>/<yyyymmdd>/<hh>/<startedAt>.mp4` (UTC), relative to the data directory. */
export function segmentRef(orgId: string, cameraId: string, startedAt: number): string {
  const iso = new Date(startedAt).toISOString();
  const day = iso.slice(0, 10).replaceAll('-', '');
  const hour = iso.slice(11, 13);
  return [cameraRecordingsRef(orgId, cameraId), day, hour, `${startedAt}.mp4`].join('/');
}

export function segmentIdOf(cameraId: string, startedAt: number): string {
  return `${cameraId}:${startedAt}`;
}

/** A reference's file; refuses references that would leave the data directory. */
export function resolveRef(dataDir: string, ref: string): string {
  const root = resolve(dataDir);
  const path = resolve(root, ref);
  if (!path.startsWith(root + sep)) throw new Error(`reference outside the data directory: ${ref}`);
  return path;
}

export interface OpenedIndex {
  index: SegmentIndex;
  /** Segment files found on disk that the index did not know (a crash between the move and the append). */
  recovered: StoredSegment[];
  /** Indexed segments whose file is gone (removed by hand): dropped from the index. */
  vanished: string[];
  /** Files that were not playable recordings and were removed. */
  removed: string[];
}

/**
 * One camera's durable segment index: an append-only JSON-lines file
 * (`recordings/<org>/<camera>/index.jsonl`) replayed on open, then checked against the directory
 * itself, which stays the truth: a file the index does not know is inspected and added, an entry
 * whose file is gone is dropped. The log is rewritten compactly (temp file, rename) on open and
 * when it has grown mostly dead. A torn last line (a crash in the middle of an append) is skipped.
 */
export class SegmentIndex {
  private readonly segments = new Map<string, StoredSegment>();
  private sorted: StoredSegment[] | null = null;
  private lines = 0;
  private writes: Promise<void> = Promise.resolve();
  private bytes = 0;

  private constructor(
    readonly dataDir: string,
    readonly orgId: string,
    readonly cameraId: string,
    private readonly logger: Logger,
  ) {}

  get dir(): string {
    return resolveRef(this.dataDir, cameraRecordingsRef(this.orgId, this.cameraId));
  }

  get file(): string {
    return join(this.dir, 'index.jsonl');
  }

  static async open(o: {
    dataDir: string;
    orgId: string;
    cameraId: string;
    logger?: Logger;
  }): Promise<OpenedIndex> {
    const index = new SegmentIndex(o.dataDir, o.orgId, o.cameraId, o.logger ?? silentLogger());
    await mkdir(index.dir, { recursive: true });
    await index.replay();
    const result = await index.reconcile();
    await index.compact();
    return { index, ...result };
  }

  get size(): number {
    return this.segments.size;
  }

  /** Bytes of every indexed segment. */
  get totalBytes(): number {
    return this.bytes;
  }

  get(id: string): StoredSegment | undefined {
    return this.segments.get(id);
  }

  has(id: string): boolean {
    return this.segments.has(id);
  }

  /** Every segment, oldest first. */
  list(): readonly StoredSegment[] {
    if (!this.sorted)
      this.sorted = [...this.segments.values()].sort((a, b) => a.segment.startedAt - b.segment.startedAt);
    return this.sorted;
  }

  /** The latest segment, if any. */
  last(): StoredSegment | undefined {
    const all = this.list();
    return all[all.length - 1];
  }

  pathOf(s: RecordingSegmentV1): string {
    return resolveRef(this.dataDir, s.path);
  }

  async add(entry: StoredSegment): Promise<void> {
    SegmentSchema.parse(entry.segment);
    this.put(entry);
    await this.append({ op: 'add', s: entry });
  }

  async update(id: string, change: { protected?: boolean; pending?: boolean }): Promise<void> {
    const s = this.segments.get(id);
    if (!s) return;
    if (change.protected !== undefined) s.protected = change.protected;
    if (change.pending !== undefined) s.pending = change.pending;
    await this.append({ op: 'set', id, ...change });
  }

  /** Removes segments from the index and their files from the disk; returns the bytes freed. */
  async remove(ids: readonly string[]): Promise<number> {
    const gone: StoredSegment[] = [];
    for (const id of ids) {
      const s = this.segments.get(id);
      if (s) gone.push(s);
    }
    if (gone.length === 0) return 0;
    // The files first: a crash in between leaves entries without files, which the next open drops
    // and reports as deleted again (never a deleted segment coming back).
    let freed = 0;
    for (const s of gone) {
      try {
        await rm(this.pathOf(s.segment), { force: true });
        freed += s.segment.bytes;
      } catch (err) {
        this.logger.warn({ err: errorMessage(err), path: s.segment.path }, 'could not remove a segment file');
      }
    }
    for (const s of gone) this.drop(s.segment.segmentId);
    await this.append({ op: 'del', ids: gone.map((s) => s.segment.segmentId) });
    if (this.lines > 1000 && this.lines > 3 * this.segments.size) await this.compact();
    return freed;
  }

  /** Waits for every write so far. */
  flush(): Promise<void> {
    return this.writes;
  }

  // --- internals -------------------------------------------------------------------------------

  private put(entry: StoredSegment): void {
    const old = this.segments.get(entry.segment.segmentId);
    if (old) this.bytes -= old.segment.bytes;
    this.segments.set(entry.segment.segmentId, entry);
    this.bytes += entry.segment.bytes;
    this.sorted = null;
  }

  private drop(id: string): void {
    const old = this.segments.get(id);
    if (!old) return;
    this.bytes -= old.segment.bytes;
    this.segments.delete(id);
    this.sorted = null;
  }

  private append(line: IndexLine): Promise<void> {
    const text = `${JSON.stringify(line)}\n`;
    this.lines++;
    const write = this.writes.then(() => appendFile(this.file, text));
    this.writes = write.catch((err) => {
      this.logger.error({ err: errorMessage(err), file: this.file }, 'could not append to the segment index');
    });
    return write;
  }

  private async replay(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let bad = 0;
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      let line: IndexLine;
      try {
        line = JSON.parse(raw) as IndexLine;
      } catch {
        bad++;
        continue;
      }
      if (line.op === 'add') {
        const parsed = SegmentSchema.safeParse(line.s?.segment);
        if (!parsed.success) {
          bad++;
          continue;
        }
        this.put({
          segment: parsed.data,
          protected: line.s.protected === true,
          pending: line.s.pending === true,
        });
      } else if (line.op === 'set') {
        const s = this.segments.get(line.id);
        if (s && typeof line.protected === 'boolean') s.protected = line.protected;
        if (s && typeof line.pending === 'boolean') s.pending = line.pending;
      } else if (line.op === 'del' && Array.isArray(line.ids)) {
        for (const id of line.ids) this.drop(String(id));
      } else bad++;
    }
    if (bad > 0)
      this.logger.warn({ file: this.file, skipped: bad }, 'segment index: unreadable lines skipped');
  }

  /** The directory is the truth: index what it has, forget what it lacks. */
  private async reconcile(): Promise<{ recovered: StoredSegment[]; vanished: string[]; removed: string[] }> {
    const onDisk = new Map<string, string>(); // ref → absolute path
    const base = cameraRecordingsRef(this.orgId, this.cameraId);
    for (const day of await dirNames(this.dir, /^\d{8}$/))
      for (const hour of await dirNames(join(this.dir, day), /^\d{2}$/))
        for (const name of await fileNames(join(this.dir, day, hour)))
          if (/^\d+\.mp4$/.test(name))
            onDisk.set([base, day, hour, name].join('/'), join(this.dir, day, hour, name));
          else if (name.endsWith('.tmp')) await rm(join(this.dir, day, hour, name), { force: true });

    const vanished: string[] = [];
    for (const s of [...this.segments.values()])
      if (!onDisk.delete(s.segment.path)) {
        vanished.push(s.segment.segmentId);
        this.drop(s.segment.segmentId);
      }

    const recovered: StoredSegment[] = [];
    const removed: string[] = [];
    for (const [ref, file] of onDisk) {
      const startedAt = Number(/(\d+)\.mp4$/.exec(ref)?.[1]);
      const entry = await this.inspectFile(ref, file, startedAt);
      if (entry) {
        this.put(entry);
        recovered.push(entry);
      } else {
        await rm(file, { force: true });
        removed.push(ref);
      }
    }
    if (vanished.length + recovered.length + removed.length > 0)
      this.logger.warn(
        {
          camera: this.cameraId,
          recovered: recovered.length,
          vanished: vanished.length,
          removed: removed.length,
        },
        'segment index reconciled with the disk',
      );
    return { recovered, vanished, removed };
  }

  private async inspectFile(ref: string, file: string, startedAt: number): Promise<StoredSegment | null> {
    if (!Number.isSafeInteger(startedAt) || ref !== segmentRef(this.orgId, this.cameraId, startedAt))
      return null;
    try {
      const info = await inspectFmp4(file);
      if (!isPlayable(info) || info.startSeconds === null || info.endSeconds === null) return null;
      const durationMs = Math.round((info.endSeconds - info.startSeconds) * 1000);
      if (durationMs <= 0) return null;
      const bytes = (await stat(file)).size;
      return {
        segment: {
          segmentId: segmentIdOf(this.cameraId, startedAt),
          startedAt,
          endedAt: startedAt + durationMs,
          durationMs,
          bytes,
          path: ref,
          reason: 'continuous',
          ...(info.codec ? { codec: info.codec.slice(0, 32) } : {}),
          ...(info.width ? { width: info.width } : {}),
          ...(info.height ? { height: info.height } : {}),
        },
        protected: false,
        pending: false,
      };
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), path: ref }, 'could not inspect a segment file');
      return null;
    }
  }

  /** Rewrites the log with one line per live segment (temp file, then rename: never half a log). */
  private async compact(): Promise<void> {
    await this.writes;
    const text = this.list()
      .map((s) => `${JSON.stringify({ op: 'add', s } satisfies IndexLine)}\n`)
      .join('');
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, this.file);
    this.lines = this.segments.size;
  }
}

async function dirNames(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && pattern.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function fileNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
