/**
 * The segment reader port: how the server gets at the bytes of a recorded segment. In the
 * all-in-one box the segments are files in the shared data directory (`LocalSegmentReader`);
 * in distributed mode an adapter would fetch them from the device that recorded them (see
 * docs/recording.md, "Distributed mode").
 */
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { finished, type Readable } from 'node:stream';
import type { ByteSource } from './mp4-boxes.ts';

/** What the reader needs to know of a segment (a row of the recordings index). */
export interface SegmentRef {
  orgId: string;
  cameraId: string;
  deviceId: string;
  segmentId: string;
  /** As reported by the device: relative to its data directory. */
  path: string;
}

/** One opened segment: random access for the box splitter, streams for serving. */
export interface OpenedSegment extends ByteSource {
  /** Bytes [start, end) as a stream; the segment stays open until the stream ends. */
  stream(start: number, end: number): Readable;
  /** A local file path holding the segment, when there is one (ffmpeg reads it directly). */
  readonly localPath: string | null;
  close(): Promise<void>;
}

export interface SegmentReader {
  /** The segment, or null when its file is not there (deleted, never written, or not ours). */
  open(segment: SegmentRef): Promise<OpenedSegment | null>;
}

/** The folder of the data directory that holds recordings: `recordings/<org>/<camera>/…`. */
export const RECORDINGS_FOLDER = 'recordings';

const SHAPE = /^recordings\/[^/\\]+(\/[^/\\]+)+\.(mp4|m4s)$/;
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR', 'ENAMETOOLONG', 'EACCES']);

/**
 * The file of a segment path under `<dataDir>/recordings/<orgId>/`, or null when the path is
 * not one: absolute, with `.`/`..`/empty parts, backslashes or control characters, or in
 * another organisation's folder. A device could report a hostile path; this keeps every read
 * inside the caller's own recordings. Purely lexical: `LocalSegmentReader` also resolves links.
 */
export function resolveSegmentPath(dataDir: string, orgId: string, path: string): string | null {
  if (path.length === 0 || path.length > 512) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return null;
  if (isAbsolute(path) || !SHAPE.test(path)) return null;
  if (path.split('/').some((s) => s === '.' || s === '..' || s === '')) return null;
  if (orgId.length === 0 || orgId.includes('/') || orgId === '.' || orgId === '..') return null;
  const root = resolve(dataDir, RECORDINGS_FOLDER, orgId);
  const file = resolve(dataDir, path);
  return file.startsWith(root + sep) ? file : null;
}

/** Reads segments from `<dataDir>/recordings/<org>/`, never outside it (not through links either). */
export class LocalSegmentReader implements SegmentReader {
  constructor(private readonly dataDir: string) {}

  async open(segment: SegmentRef): Promise<OpenedSegment | null> {
    const file = resolveSegmentPath(this.dataDir, segment.orgId, segment.path);
    if (file === null) return null;
    let handle: FileHandle;
    try {
      const [real, root] = await Promise.all([
        realpath(file),
        realpath(resolve(this.dataDir, RECORDINGS_FOLDER, segment.orgId)),
      ]);
      if (!real.startsWith(root + sep)) return null;
      handle = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (err) {
      if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw err;
    }
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      return null;
    }
    let open_ = true;
    let streams = 0;
    const closeIfIdle = async () => {
      if (!open_ && streams === 0) await handle.close().catch(() => undefined);
    };
    return {
      size: stat.size,
      localPath: file,
      read: async (position, length) => {
        const buf = Buffer.alloc(Math.max(0, Math.min(length, stat.size - position)));
        const { bytesRead } = await handle.read(buf, 0, buf.length, position);
        return buf.subarray(0, bytesRead);
      },
      stream: (start, end) => {
        streams++;
        const s = createReadStream('', { fd: handle, start, end: end - 1, autoClose: false });
        // autoClose is off (the handle is shared): count the stream done when it ends, fails or is destroyed
        finished(s, () => {
          streams--;
          void closeIfIdle();
        });
        return s;
      },
      close: async () => {
        open_ = false;
        await closeIfIdle();
      },
    };
  }
}
