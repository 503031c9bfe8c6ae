import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import { sql } from 'kysely';
import { createStore, latestSchemaVersion, openDatabase } from '../src/index.ts';
import { findPostgresBin, type PostgresServer, startPostgres } from './postgres-server.ts';
import { defineRepositorySuite } from './repository-suite.ts';

describe('PostgreSQL', () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  defineRepositorySuite('PostgreSQL', async () =>
    openDatabase({ url: await server.createDatabase('suite') }),
  );

  test('missing server binaries fail the run with what to do, never a silent skip', () => {
    assert.throws(() => findPostgresBin('/nonexistent/postgresql'), /run `bash scripts\/setup\.sh test`/);
  });

  describe('opening', () => {
    test('instances opening a new database at once migrate it exactly once', async () => {
      const url = await server.createDatabase('concurrent');
      const opened = await Promise.all([1, 2, 3].map(() => openDatabase({ url })));
      try {
        assert.deepEqual(opened.map((d) => d.migrationsApplied.length).sort(), [0, 0, latestSchemaVersion]);
        for (const d of opened) assert.equal(d.kind, 'postgres');
        await createStore(opened[0]!.db).organisations.create({ id: 'o', name: 'O' });
        assert.equal((await createStore(opened[2]!.db).organisations.get('o'))?.name, 'O');
      } finally {
        await Promise.all(opened.map((d) => d.close()));
      }
      const again = await openDatabase({ url });
      assert.deepEqual(again.migrationsApplied, []);
      await again.close();
      await again.close();
    });

    test('a schema newer than the code is refused', async () => {
      const url = await server.createDatabase('newer');
      const d = await openDatabase({ url });
      await sql`insert into schema_migrations (version, name, applied_at) values (99, 'future', 0)`.execute(
        d.db,
      );
      await d.close();
      await assert.rejects(openDatabase({ url }), (err: unknown) => {
        assert.ok(err instanceof IcebergError);
        assert.match(err.message, /version 99, newer than/);
        return true;
      });
    });

    test('a server that refuses the connection gives a clear error without the password', async () => {
      await assert.rejects(
        openDatabase({ url: 'postgres://iceberg:s3cret@127.0.0.1:1/iceberg', connectTimeoutMs: 3_000 }),
        (err: unknown) => {
          assert.ok(err instanceof IcebergError);
          assert.equal(err.code, 'ICEBERG_ERR_DB_UNAVAILABLE');
          assert.match(
            err.message,
            /^cannot connect to PostgreSQL at postgres:\/\/iceberg:\*\*\*@127\.0\.0\.1:1\/iceberg: .*ECONNREFUSED/,
          );
          assert.equal(err.message.includes('s3cret'), false);
          return true;
        },
      );
      await assert.rejects(
        openDatabase({ url: `postgres://postgres@127.0.0.1:${server.port}/no_such_db` }),
        /cannot connect to PostgreSQL .*no_such_db.*does not exist/,
      );
      await assert.rejects(openDatabase({ url: 'mysql://x@y/z' }), /must start with postgres:\/\//);
    });
  });
});
