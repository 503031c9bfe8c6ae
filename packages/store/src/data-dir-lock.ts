/**
 * An exclusive lock on a PGlite data directory. PGlite does not lock its directory: two
 * processes (or two instances in one process) opening the same one crash or corrupt it. The lock
 * is a file inside the directory holding the owner's pid and host; a lock left behind by a process
 * that no longer runs is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { IcebergError } from '@iceberg/common';

export const LOCK_FILE_NAME = '.iceberg-lock';

interface LockOwner {
  pid: number;
  host: string;
  since: number;
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/** Directories locked by this process (a second open in the same process must fail too). */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function modifiedAt(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string') {
      return { pid: owner.pid, host: owner.host, since: Number(owner.since ?? 0) };
    }
  } catch {
    // unreadable or half-written: treated as stale below
  }
  return undefined;
}

function inUse(dir: string, path: string, owner: LockOwner): IcebergError {
  const who =
    owner.pid === 0
      ? 'another process'
      : owner.pid === process.pid
        ? 'this process'
        : `process ${owner.pid} on ${owner.host}`;
  return new IcebergError(
    'ICEBERG_ERR_DB_UNAVAILABLE',
    `the database directory ${dir} is in use by ${who}: stop the other Iceberg first ` +
      `(if none is running, delete ${path})`,
    { details: { dataDir: dir, lockFile: path, pid: owner.pid, host: owner.host } },
  );
}

/** Takes the lock on `dir` (created if missing), or throws an IcebergError naming the holder. */
export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE_NAME);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: Date.now() };
  if (heldHere.has(path)) throw inUse(dir, path, me);

  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new IcebergError('ICEBERG_ERR_DB_UNAVAILABLE', `cannot lock the database directory ${dir}`, {
          cause: err,
          details: { dataDir: dir },
        });
      }
      const owner = readOwner(path);
      // Another host's lock cannot be checked: respect it. This host's: stale when its process is
      // gone, or when it names our own pid without us holding it (a restarted container's pid 1).
      if (owner && (owner.host !== me.host || (owner.pid !== me.pid && isRunning(owner.pid)))) {
        throw inUse(dir, path, owner);
      }
      // A lock file without an owner yet may be one being written right now.
      if (!owner && Date.now() - modifiedAt(path) < 5000) {
        throw inUse(dir, path, { pid: 0, host: 'unknown', since: 0 });
      }
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    heldHere.add(path);
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        heldHere.delete(path);
        const owner = readOwner(path);
        if (owner?.pid === me.pid && owner.since === me.since) rmSync(path, { force: true });
      },
    };
  }
  throw new IcebergError('ICEBERG_ERR_DB_UNAVAILABLE', `cannot lock the database directory ${dir}`, {
    details: { dataDir: dir, lockFile: path },
  });
}
