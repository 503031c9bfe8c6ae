import { resolve, sep } from 'node:path';

/** The file of a data-directory reference (a snapshot), or null if the reference would leave it. */
export function resolveDataPath(dataDir: string, ref: string): string | null {
  if (ref.includes('\0')) return null;
  const root = resolve(dataDir);
  const path = resolve(root, ref);
  return path.startsWith(root + sep) ? path : null;
}
