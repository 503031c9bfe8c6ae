/**
 * A throwaway PostgreSQL server for tests and benchmarks: a fresh cluster in a temporary
 * directory, listening on 127.0.0.1 on a free port, removed again by `stop()`. Uses the Debian
 * `postgresql` package's binaries (initdb, pg_ctl). initdb refuses to run as root: as root, the
 * cluster is created and run as the `postgres` system user (`runuser -u postgres --`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres: the maintenance database. */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and deletes its files; safe to call twice. */
  stop(): void;
}

export interface StartPostgresOptions {
  /**
   * false (default): fsync, full-page writes and synchronous commit off, fast for tests.
   * true: PostgreSQL's durable defaults, for honest benchmark figures.
   */
  durable?: boolean;
}

const SETUP_HINT = "run `bash scripts/setup.sh test` (it installs Debian's postgresql package)";

/** The bin directory of the newest PostgreSQL installed from Debian packages. */
export function findPostgresBin(root = '/usr/lib/postgresql'): string {
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found in ${root}/*/bin: ${SETUP_HINT}`);
  }
  const bin = join(root, newest, 'bin');
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(bin, tool))) throw new Error(`${join(bin, tool)} is missing: ${SETUP_HINT}`);
  }
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function ids(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const asRoot = process.getuid?.() === 0;
  if (asRoot && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) {
    throw new Error('running as root needs runuser (util-linux) to start PostgreSQL as the postgres user');
  }
  const run = (tool: string, args: string[]) => {
    const [cmd, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
      : [join(bin, tool), args];
    const result = spawnSync(cmd, argv as string[], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) {
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
      throw new Error(`${tool} ${args.join(' ')} failed (exit ${result.status}):\n${output.trim()}`);
    }
    return result.stdout;
  };

  const root = mkdtempSync(join(tmpdir(), 'iceberg-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  let started = false;
  let stopped = false;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    try {
      if (started) run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already gone
    }
    rmSync(root, { recursive: true, force: true });
  };
  // A test run that is interrupted must not leave a server behind.
  process.on('exit', stop);

  try {
    if (asRoot) {
      const { uid, gid } = ids('postgres');
      chownSync(root, uid, gid);
      chmodSync(root, 0o700);
    }
    run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);

    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const settings = [
        `-p ${port}`,
        "-c listen_addresses='127.0.0.1'",
        `-c unix_socket_directories='${root}'`,
        '-c max_connections=50',
        ...(options.durable ? [] : ['-c fsync=off', '-c full_page_writes=off', '-c synchronous_commit=off']),
      ].join(' ');
      try {
        run('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', settings, '-w', '-t', '60', 'start']);
        started = true;
        break;
      } catch (err) {
        // Someone took the port between our probe and the start: try another one.
        if (attempt >= 2) {
          const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
          throw new Error(`${(err as Error).message}\n${log}`);
        }
      }
    }

    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
      adminUrl,
      port,
      dataDir,
      async createDatabase(name: string) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        try {
          await client.query(`create database ${name}`);
        } finally {
          await client.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}
