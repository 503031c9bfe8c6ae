import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';

/** The port for storing snapshot JPEGs; returns the reference that messages carry. */
export interface SnapshotStore {
  save(orgId: string, cameraId: string, name: string, jpeg: Uint8Array, at: number): Promise<string>;
}

/**
 * Snapshots as files under `<dataDir>/snapshots/<org>/<camera>/<yyyymmdd>/<name>.jpg` (one root per
 * organisation, so two tenants' cameras of the same id never share a folder), written
 * atomically (temp file, then rename) so a reader never sees half a picture.
 */
export class FileSnapshotStore implements SnapshotStore {
  constructor(private readonly dataDir: string) {}

  async save(orgId: string, cameraId: string, name: string, jpeg: Uint8Array, at: number): Promise<string> {
    const day = new Date(at).toISOString().slice(0, 10).replaceAll('-', '');
    const ref = ['snapshots', orgId, cameraId, day, `${name}.jpg`].join('/');
    const path = this.pathOf(ref);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, jpeg);
    await rename(tmp, path);
    return ref;
  }

  /** The file of a reference; refuses references that would leave the data directory. */
  pathOf(ref: string): string {
    const root = resolve(this.dataDir);
    const path = resolve(root, ref);
    if (!path.startsWith(root + sep))
      throw new Error(`snapshot reference outside the data directory: ${ref}`);
    return join(path);
  }
}
