/**
 * Real `iceberg` processes for the Kafka end-to-end tests: started from the CLI with a config
 * file, their output kept, stopped with SIGTERM (and SIGKILLed if a test leaves them behind).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, waitFor } from './kafka-mock-cluster.ts';

const iceberg = join(repoRoot, 'packages/cli/bin/iceberg');

export interface Running {
  name: string;
  child: ChildProcess;
  out: string[];
  err: string[];
  exited: Promise<number | null>;
}

export interface ServerHandle {
  proc: Running;
  url: string;
  token: string;
}

export const admin = { email: 'admin@acme.test', password: 'correct-horse-battery', org: 'acme' };

export class IcebergProcesses {
  readonly started: Running[] = [];
  private readonly alive = new Set<ChildProcess>();

  constructor(private readonly dir: string) {}

  /** `iceberg <args>`; `name` labels it in the debug output. */
  run(name: string, args: string[]): Running {
    const child = spawn(iceberg, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'test' },
    });
    this.alive.add(child);
    const r: Running = {
      name,
      child,
      out: [],
      err: [],
      exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    };
    child.stdout!.on('data', (d: Buffer) => r.out.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => r.err.push(d.toString()));
    void r.exited.then(() => this.alive.delete(child));
    this.started.push(r);
    return r;
  }

  /** Writes `config` (JSON is YAML) as `<name>.yaml` and runs `iceberg <command> --config` on it. */
  runWithConfig(name: string, command: string, config: unknown): Running {
    const file = join(this.dir, `${name}.yaml`);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return this.run(name, [command, '--config', file]);
  }

  /** `iceberg server` with `config` merged into a test server's, once it listens and the admin is logged in. */
  async server(name: string, config: Record<string, unknown>): Promise<ServerHandle> {
    const proc = this.runWithConfig(name, 'server', {
      dataDir: join(this.dir, name),
      log: { level: 'info' },
      ...config,
      server: {
        port: 0,
        admin,
        restream: { rtmpPort: 0 }, // a free port: parallel tests must not fight over 1935
        ...(config.server as object | undefined),
      },
    });
    const url = await waitFor(
      `server ${name} to be ready`,
      () => {
        if (proc.child.exitCode !== null) throw new Error(`server exited: ${proc.err.join('').slice(-2000)}`);
        return /Iceberg server on (http:\/\/\S+)\/api/.exec(proc.out.join(''))?.[1];
      },
      90_000,
    );
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin.email, password: admin.password }),
    });
    assert.equal(login.status, 200);
    const { token } = (await login.json()) as { token: string };
    return { proc, url, token };
  }

  /** SIGTERM, then the exit code. */
  async stop(r: Running): Promise<number | null> {
    r.child.kill('SIGTERM');
    return r.exited;
  }

  killAll(): void {
    for (const c of this.alive) c.kill('SIGKILL');
  }

  /** The output of every process (set KAFKA_TEST_DEBUG to see it after a run). */
  dump(): string {
    return this.started
      .map(
        (r) =>
          `--- ${r.name}\n${r.out.join('').slice(-3000)}\n${r.err
            .join('')
            .split('\n')
            .filter((l) => !l.includes('nginx'))
            .join('\n')
            .slice(-5000)}`,
      )
      .join('\n');
  }
}

export async function api<T>(
  s: { url: string; token: string },
  path: string,
  init: RequestInit = {},
): Promise<T> {
  const res = await fetch(`${s.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', ...init.headers },
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Every item of a paginated list. */
export async function allPages<T>(s: { url: string; token: string }, path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: T[]; nextCursor: string | null } = await api(
      s,
      `${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** What a user sees: alerts unique by rule, reason and tracks (a duplicate is a second page to a guard). */
export function alertKeys(alerts: Array<{ ruleId: string; trackIds: string[]; reason: string }>): string[] {
  return alerts.map((a) => `${a.ruleId}/${a.reason}/${a.trackIds.join(',')}`);
}
