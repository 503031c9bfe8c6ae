/**
 * Opens the database: PostgreSQL (a `pg` pool) when a `postgres://` URL is given, otherwise the
 * embedded PGlite, in a directory or in memory. Both speak the same SQL; the schema is migrated
 * to the newest version on every open.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { IcebergError } from '@iceberg/common';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';
import { migrate } from './migrations.ts';
import type { Schema } from './schema.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export interface OpenDatabaseOptions {
  /** `postgres://user:password@host:port/database`: use that PostgreSQL server (takes precedence over `dataDir`). */
  url?: string;
  /** PGlite data directory (created if missing); `memory://` or absent: an in-memory database. */
  dataDir?: string;
  /**
   * PGlite only: a file holding a freshly initialised cluster (gzip tarball). A new embedded
   * database (in memory, or in an empty directory) is loaded from it in ~2 s instead of running
   * initdb (~10 s); when the file does not exist, it is written after the first initdb. Meant for
   * tests and development (`defaultPgliteTemplatePath()`); production opens a directory once.
   */
  pgliteTemplate?: string;
  /** PostgreSQL only: the most connections the pool opens (default 10). */
  poolSize?: number;
  /** PostgreSQL only: how long to wait for a connection, in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** PostgreSQL only: called when an idle pooled connection fails (e.g. the server restarted). */
  onPoolError?: (err: Error) => void;
}

export interface Database {
  db: Kysely<Schema>;
  kind: DatabaseKind;
  /** Schema version after the migrations that ran on open. */
  schemaVersion: number;
  /** Migration versions applied by this open (empty when the schema was already up to date). */
  migrationsApplied: number[];
  /** Closes the connections (and releases the PGlite directory); safe to call twice. */
  close(): Promise<void>;
}

/** int8 (bigint, count(*)) as a JS number when it is exact, as PGlite does; a bigint otherwise. */
function parseInt8(value: string): number | bigint {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : BigInt(value);
}

/** The URL with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** The message of a driver error; Node's connect errors to `localhost` are AggregateErrors with none. */
function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(errorText))].join('; ');
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return err.message || code || err.name;
  }
  return String(err);
}

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  if (options.url !== undefined && options.url !== '') return openPostgres(options.url, options);
  return openPglite(options.dataDir, options.pgliteTemplate);
}

/** The installed PGlite version (templates are only valid for the version that made them). */
function pgliteVersion(): string {
  try {
    const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
    const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** A per-user, per-PGlite-version template file in the system's temporary directory. */
export function defaultPgliteTemplatePath(): string {
  return join(tmpdir(), `iceberg-pglite-${pgliteVersion()}-${process.getuid?.() ?? 0}.tgz`);
}

function readTemplate(path: string | undefined): Blob | undefined {
  if (path === undefined || !existsSync(path)) return undefined;
  try {
    return new Blob([readFileSync(path)]);
  } catch {
    return undefined;
  }
}

async function writeTemplate(pglite: PGlite, path: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    const blob = await pglite.dumpDataDir('gzip');
    writeFileSync(temporary, Buffer.from(await blob.arrayBuffer()));
    renameSync(temporary, path);
  } catch {
    // A template is only a speed-up.
    rmSync(temporary, { force: true });
  }
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      `the database URL must start with postgres:// or postgresql:// (got ${redactUrl(url)})`,
    );
  }
  const where = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 && format !== 'binary'
          ? parseInt8
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // Without a listener, an idle connection's error would crash the process.
  pool.on('error', (err) => options.onPoolError?.(err));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });

  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new IcebergError(
      'ICEBERG_ERR_DB_UNAVAILABLE',
      `cannot connect to PostgreSQL at ${where}: ${errorText(err)}`,
      {
        cause: err,
        details: { url: where },
      },
    );
  }
  return finishOpen(db, 'postgres', async () => {
    await db.destroy();
  });
}

async function openPglite(dataDir: string | undefined, template: string | undefined): Promise<Database> {
  const inMemory = dataDir === undefined || dataDir === '' || dataDir === 'memory://';
  const dir = inMemory ? undefined : resolve(dataDir.replace(/^file:\/\//, ''));
  const lock: DataDirLock | undefined = dir === undefined ? undefined : lockDataDir(dir);
  const fresh = dir === undefined || !existsSync(join(dir, 'PG_VERSION'));
  const loadDataDir = fresh ? readTemplate(template) : undefined;

  let pglite: PGlite;
  try {
    try {
      // (The options-only form: `create(undefined, options)` ignores the options.)
      pglite = await PGlite.create({
        ...(dir ? { dataDir: dir } : {}),
        ...(loadDataDir ? { loadDataDir } : {}),
      });
    } catch (err) {
      // A damaged template: start from scratch (only in memory, where nothing was written yet).
      if (!loadDataDir || dir !== undefined) throw err;
      if (template) rmSync(template, { force: true });
      pglite = await PGlite.create();
    }
    // Templates are made in memory only, so that they never hold a directory's lock file.
    if (fresh && template && dir === undefined && !existsSync(template))
      await writeTemplate(pglite, template);
  } catch (err) {
    lock?.release();
    throw new IcebergError(
      'ICEBERG_ERR_DB_UNAVAILABLE',
      `cannot open the embedded database${dir ? ` in ${dir}` : ''}: ${errorText(err)}`,
      { cause: err, details: dir ? { dataDir: dir } : undefined },
    );
  }
  const db = new Kysely<Schema>({ dialect: new PGliteDialect(pglite) });
  return finishOpen(db, 'pglite', async () => {
    try {
      await db.destroy();
    } finally {
      lock?.release();
    }
  });
}

async function finishOpen(
  db: Kysely<Schema>,
  kind: DatabaseKind,
  destroy: () => Promise<void>,
): Promise<Database> {
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= destroy();
    return closing;
  };
  try {
    const result = await migrate(db);
    return { db, kind, schemaVersion: result.version, migrationsApplied: result.applied, close };
  } catch (err) {
    await close().catch(() => undefined);
    if (err instanceof IcebergError) throw err;
    throw new IcebergError('ICEBERG_ERR_INTERNAL', `cannot migrate the database schema: ${errorText(err)}`, {
      cause: err,
    });
  }
}
