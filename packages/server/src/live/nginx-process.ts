import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { IcebergError, type Logger } from '@iceberg/common';

/**
 * Runs one nginx as a supervised child process: `nginx -p DIR -c DIR/nginx.conf -e stderr -g
 * 'daemon off;'`, a single process (`master_process off`) in its own process group, started
 * through `setpriv --pdeathsig KILL` so that it never outlives Iceberg, even when Iceberg is
 * killed. It is up when its RTMP port accepts connections; when it dies unexpectedly it is
 * restarted with backoff (1 s doubling to 30 s); `stop()` ends it (SIGTERM, then SIGKILL to the
 * group). A stale nginx left in DIR by an earlier run (its pid file) is ended before starting.
 */
export interface NginxProcessOptions {
  nginxPath: string;
  modulePath: string;
  /** The prefix directory: nginx.conf, the pid file. */
  dir: string;
  pidPath: string;
  /** Writes the config (called before every start). */
  writeConfig: () => void;
  rtmpPort: number;
  logger: Logger;
  /** How long a start may take before it counts as failed. Default 10 s. */
  startTimeoutMs?: number;
}

const MAX_LOG_CHARS = 4000;
const SETPRIV = '/usr/bin/setpriv';

export class NginxProcess {
  readonly #o: NginxProcessOptions;
  #proc: ChildProcess | null = null;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | null = null;
  #backoffMs = 1000;
  #stderr = '';
  /** Set when a restart failed for good reasons (e.g. the binary vanished); read by callers. */
  lastError: string | null = null;
  #onExit = () => this.#killGroup('SIGKILL');

  constructor(options: NginxProcessOptions) {
    this.#o = options;
  }

  get running(): boolean {
    return this.#proc !== null && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** Checks that nginx and the RTMP module exist: a clear error naming the Debian package otherwise. */
  static check(nginxPath: string, modulePath: string): void {
    if (!existsSync(modulePath))
      throw new IcebergError(
        'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
        `live view needs nginx's RTMP module, not found at ${modulePath}: install Debian's libnginx-mod-rtmp (apt-get install nginx libnginx-mod-rtmp)`,
      );
    let found = true;
    if (nginxPath.includes('/')) {
      try {
        accessSync(nginxPath, constants.X_OK);
      } catch {
        found = false;
      }
    }
    if (!found)
      throw new IcebergError(
        'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
        `live view needs nginx, "${nginxPath}" was not found: install Debian's nginx and libnginx-mod-rtmp (apt-get install nginx libnginx-mod-rtmp)`,
      );
  }

  async start(): Promise<void> {
    NginxProcess.check(this.#o.nginxPath, this.#o.modulePath);
    this.#stopping = false;
    this.#endStale();
    process.on('exit', this.#onExit);
    await this.#spawn();
  }

  async #spawn(): Promise<void> {
    this.#o.writeConfig();
    this.#stderr = '';
    const args = [
      '-p',
      `${this.#o.dir}/`,
      '-c',
      join(this.#o.dir, 'nginx.conf'),
      '-e',
      'stderr',
      '-g',
      'daemon off;',
    ];
    // setpriv (util-linux) gives nginx a parent-death signal: killed with Iceberg, even by SIGKILL.
    const proc = existsSync(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', this.#o.nginxPath, ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
          detached: true,
        })
      : spawn(this.#o.nginxPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.#proc = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-MAX_LOG_CHARS);
      for (const line of chunk.split('\n')) {
        const text = line.trim();
        if (!text) continue;
        if (/\[(emerg|alert|crit|error)\]/.test(text)) this.#o.logger.warn({ nginx: text }, 'nginx');
        else this.#o.logger.debug({ nginx: text }, 'nginx');
      }
    });
    const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.once('exit', (code, signal) => {
      if (this.#proc === proc) this.#proc = null;
      if (this.#stopping) return;
      this.#o.logger.warn(
        { code, signal, stderr: this.#stderr.slice(-500) },
        'nginx (re-streaming server) exited; restarting',
      );
      this.#scheduleRestart();
    });
    const deadline = Date.now() + (this.#o.startTimeoutMs ?? 10_000);
    for (;;) {
      const outcome = await Promise.race([
        spawnError.then((err) => ({ kind: 'error' as const, err })),
        exited.then(() => ({ kind: 'exited' as const })),
        delay(100).then(() => ({ kind: 'tick' as const })),
      ]);
      if (outcome.kind === 'error') {
        this.#proc = null;
        const missing = (outcome.err as NodeJS.ErrnoException).code === 'ENOENT';
        throw new IcebergError(
          'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
          missing
            ? `live view needs nginx, "${this.#o.nginxPath}" was not found: install Debian's nginx and libnginx-mod-rtmp`
            : `nginx could not be started: ${outcome.err.message}`,
        );
      }
      if (outcome.kind === 'exited') {
        if (/failed to execute/.test(this.#stderr))
          throw new IcebergError(
            'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
            `live view needs nginx, "${this.#o.nginxPath}" was not found: install Debian's nginx and libnginx-mod-rtmp (apt-get install nginx libnginx-mod-rtmp)`,
          );
        throw new IcebergError(
          'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
          `nginx (re-streaming server) exited at start: ${lastLines(this.#stderr)}`,
        );
      }
      if (await portAccepts(this.#o.rtmpPort)) {
        this.#backoffMs = 1000;
        this.lastError = null;
        return;
      }
      if (Date.now() > deadline) {
        this.#killGroup('SIGKILL');
        throw new IcebergError(
          'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
          `nginx did not open RTMP port ${this.#o.rtmpPort} in time: ${lastLines(this.#stderr)}`,
        );
      }
    }
  }

  #scheduleRestart(): void {
    if (this.#stopping || this.#restartTimer) return;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, 30_000);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (this.#stopping) return;
      this.#spawn().then(
        () => this.#o.logger.info({ port: this.#o.rtmpPort }, 'nginx (re-streaming server) restarted'),
        (err: unknown) => {
          this.lastError = (err as Error).message;
          this.#o.logger.error({ err: this.lastError }, 'nginx (re-streaming server) failed to restart');
          this.#scheduleRestart();
        },
      );
    }, wait);
    this.#restartTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    process.off('exit', this.#onExit);
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    this.#killGroup('SIGTERM');
    const timer = setTimeout(() => this.#killGroup('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
    // The worker may outlive the master by a moment: make sure the group is gone.
    this.#killGroup('SIGKILL', proc.pid);
    this.#proc = null;
  }

  #killGroup(signal: NodeJS.Signals, pid = this.#proc?.pid): void {
    if (!pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  /** An nginx from an earlier run that was not stopped (its pid file is still there): end it. */
  #endStale(): void {
    if (!existsSync(this.#o.pidPath)) return;
    const pid = Number(readFileSync(this.#o.pidPath, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes('nginx') || !cmdline.includes(this.#o.dir)) return;
      this.#o.logger.warn({ pid }, 'ending an nginx left over from an earlier run');
      process.kill(-pid, 'SIGKILL');
    } catch {
      // not running any more
    }
    writeFileSync(this.#o.pidPath, '');
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').slice(-3).join(' | ');
  return lines || 'no message';
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A TCP port that is free now on `host` (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
