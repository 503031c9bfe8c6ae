import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import { LOCK_FILE_NAME, lockDataDir } from './data-dir-lock.ts';

const root = mkdtempSync(join(tmpdir(), 'iceberg-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('data directory lock', () => {
  test('creates the directory, holds it until released, then can be taken again', () => {
    const dir = join(root, 'a', 'db');
    const lock = lockDataDir(dir);
    const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'));
    assert.equal(owner.pid, process.pid);
    assert.throws(
      () => lockDataDir(dir),
      (err: unknown) => err instanceof IcebergError && /in use by this process/.test(err.message),
    );
    lock.release();
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE_NAME)), false);
    lockDataDir(dir).release();
  });

  test('a live process on this host keeps it; a dead one loses it; another host keeps it', () => {
    const dir = join(root, 'b');
    lockDataDir(dir).release();
    const file = join(dir, LOCK_FILE_NAME);

    writeFileSync(file, JSON.stringify({ pid: process.ppid, host: hostname(), since: 1 }));
    assert.throws(() => lockDataDir(dir), new RegExp(`in use by process ${process.ppid}`));

    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 4_321, host: hostname(), since: 1 }));
    const taken = lockDataDir(dir);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid);
    taken.release();

    // Our own pid in a lock we do not hold: left by an earlier life of this process (pid 1 in a container).
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), since: 1 }));
    lockDataDir(dir).release();

    writeFileSync(file, JSON.stringify({ pid: 1, host: `not-${hostname()}`, since: 1 }));
    assert.throws(() => lockDataDir(dir), /in use by process 1 on not-/);
    rmSync(file);
  });

  test('a lock file that is still being written counts as held', () => {
    const dir = join(root, 'c');
    lockDataDir(dir).release();
    writeFileSync(join(dir, LOCK_FILE_NAME), '');
    assert.throws(() => lockDataDir(dir), /in use by another process/);
  });
});
