import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import { createStore, defaultPgliteTemplatePath, LOCK_FILE_NAME, openDatabase } from '../src/index.ts';
import { defineRepositorySuite } from './repository-suite.ts';

const root = mkdtempSync(join(tmpdir(), 'iceberg-store-'));
const dataDir = join(root, 'db');
after(() => rmSync(root, { recursive: true, force: true }));

// A new directory starts from the cached fresh cluster (PGlite's initdb when there is none yet).
defineRepositorySuite('PGlite in a data directory', () =>
  openDatabase({ dataDir, pgliteTemplate: defaultPgliteTemplatePath() }),
);

describe('PGlite data directory', () => {
  test('survives close and reopen; migrations do not run twice', async () => {
    const first = await openDatabase({ dataDir });
    assert.deepEqual(first.migrationsApplied, [], 'migrated when the suite opened it');
    await createStore(first.db).organisations.create({ id: 'persisted', name: 'Kept', createdAt: 42 });
    await first.close();
    assert.equal(existsSync(join(dataDir, LOCK_FILE_NAME)), false, 'the lock is released on close');

    const second = await openDatabase({ dataDir: `file://${dataDir}` });
    try {
      assert.equal(second.kind, 'pglite');
      assert.deepEqual(second.migrationsApplied, []);
      assert.deepEqual(await createStore(second.db).organisations.get('persisted'), {
        id: 'persisted',
        name: 'Kept',
        createdAt: 42,
      });
    } finally {
      await second.close();
    }
  });

  test('a directory in use by this or another process is refused with a clear error', async () => {
    const db = await openDatabase({ dataDir });
    try {
      await assert.rejects(openDatabase({ dataDir }), (err: unknown) => {
        assert.ok(err instanceof IcebergError);
        assert.equal(err.code, 'ICEBERG_ERR_DB_UNAVAILABLE');
        assert.match(err.message, /is in use by this process/);
        return true;
      });
      const script = `import { openDatabase } from './packages/store/src/index.ts';
        try { await openDatabase({ dataDir: ${JSON.stringify(dataDir)} }); console.log('opened'); }
        catch (err) { console.log(err.code + ' ' + err.message); }`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: new URL('../../..', import.meta.url).pathname,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.match(child.stdout, /^ICEBERG_ERR_DB_UNAVAILABLE .*is in use by process \d+/, child.stderr);
    } finally {
      await db.close();
    }
  });

  test('a lock left by a process that has gone is taken over', async () => {
    writeFileSync(
      join(dataDir, LOCK_FILE_NAME),
      JSON.stringify({ pid: 2 ** 22 + 12_345, host: (await import('node:os')).hostname(), since: 1 }),
    );
    const db = await openDatabase({ dataDir });
    await db.close();
  });
});
