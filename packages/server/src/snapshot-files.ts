import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';

/** A snapshot JPEG read from the data directory. */
export interface SnapshotFile {
  bytes: Buffer;
  contentType: 'image/jpeg';
  /** Modification time of the file (ms since the epoch). */
  modifiedAt: number;
}

/** The folder of the data directory that snapshot references may point into. */
export const SNAPSHOT_FOLDER = 'snapshots';

/** Snapshots are small (tens of KB); anything larger is not one of ours and is not served. */
export const MAX_SNAPSHOT_BYTES = 16 << 20;

const REF_SHAPE = /^snapshots\/[^/\\]+(\/[^/\\]+)*\.jpe?g$/i;

/**
 * The file of a snapshot reference (`snapshots/<camera>/<yyyymmdd>/<track>.jpg`, as written by the
 * edge's `FileSnapshotStore`), or null when the reference is not one: absolute, with `..`, `.`,
 * empty segments, backslashes or control characters, not a `.jpg`, or outside
 * `<dataDir>/snapshots`. The data directory also holds the database and recordings, so a
 * reference may never name anything but a snapshot. Purely lexical: `SnapshotFiles.read` also
 * resolves symbolic links before it opens anything. With `orgId`, the reference must also lie in
 * that organisation's folder (`snapshots/<org>/…`): a device of one organisation cannot make the
 * server serve another organisation's pictures by publishing a reference into its folder.
 */
export function resolveSnapshotPath(dataDir: string, ref: string, orgId?: string): string | null {
  if (ref.length === 0 || ref.length > 512) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(ref)) return null;
  if (isAbsolute(ref) || !REF_SHAPE.test(ref)) return null;
  if (ref.split('/').some((s) => s === '.' || s === '..' || s === '')) return null;
  const root = snapshotRoot(dataDir, orgId);
  if (root === null) return null;
  const path = resolve(dataDir, ref);
  return path.startsWith(root + sep) ? path : null;
}

/** `<dataDir>/snapshots`, or the organisation's own folder in it when `orgId` is given (null: not an id). */
function snapshotRoot(dataDir: string, orgId?: string): string | null {
  if (orgId === undefined) return resolve(dataDir, SNAPSHOT_FOLDER);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(orgId)) return null;
  return resolve(dataDir, SNAPSHOT_FOLDER, orgId);
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR', 'ENAMETOOLONG']);

/**
 * Reads snapshot JPEGs from `<dataDir>/snapshots`, confined to that folder: a reference that
 * escapes it — lexically or through a symbolic link — is treated as missing and never opened.
 */
export class SnapshotFiles {
  constructor(
    private readonly dataDir: string,
    private readonly maxBytes: number = MAX_SNAPSHOT_BYTES,
  ) {}

  /**
   * The picture of `ref` in the folder of organisation `orgId`, or null when the reference is not
   * valid, lies outside that folder, or the file is not there.
   */
  async read(ref: string, orgId: string): Promise<SnapshotFile | null> {
    const path = resolveSnapshotPath(this.dataDir, ref, orgId);
    const folder = snapshotRoot(this.dataDir, orgId);
    if (path === null || folder === null) return null;
    let real: string;
    let root: string;
    try {
      [real, root] = await Promise.all([realpath(path), realpath(folder)]);
    } catch (err) {
      if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw err;
    }
    if (!real.startsWith(root + sep)) return null;
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      // O_NOFOLLOW: the last component cannot have been swapped for a link since realpath().
      handle = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (err) {
      if (MISSING.has((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size > this.maxBytes) return null;
      const bytes = await handle.readFile();
      return { bytes, contentType: 'image/jpeg', modifiedAt: Math.floor(stat.mtimeMs) };
    } finally {
      await handle.close();
    }
  }
}
