import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Clock,
  IcebergError,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '@iceberg/common';
import { backoffDelay } from '../camera/index.ts';

/** The launcher run by Debian's python3: GStreamer's RTSP server with our mounts (see its header). */
export const RTSP_LAUNCHER = fileURLToPath(new URL('./rtsp-server.py', import.meta.url));

/** Debian's python3 has `gi`; a pyenv or venv python3 first on the PATH usually has not. */
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** What to install when GStreamer's RTSP server cannot run. */
export const RTSP_DEBIAN_PACKAGES = [
  'python3-gi',
  'gir1.2-gst-rtsp-server-1.0',
  'gir1.2-gstreamer-1.0',
  'gstreamer1.0-plugins-base',
  'gstreamer1.0-plugins-good',
  'gstreamer1.0-plugins-bad',
] as const;

/** A mount point's name: the path of `rtsp://HOST:PORT/NAME`. */
export const MOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface RtspServerOptions {
  /** Address to listen on: '0.0.0.0' (the network, the default) or '127.0.0.1' (this box only). */
  host?: string;
  /** RTSP port; 0 picks a free one (tests). Default 8554. */
  port?: number;
  /** Default /usr/bin/python3 (Debian's: it has python3-gi). */
  pythonPath?: string;
  /** Options of python placed before the launcher (e.g. `-S`). */
  pythonArgs?: readonly string[];
  /** The launcher must say "ready" within this long. Default 15 s. */
  readyTimeoutMs?: number;
  /** First wait before restarting a crashed server (doubles up to `maxBackoffMs`). Default 500 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export type RtspServerEvents = {
  /** The launcher died by itself (it is restarted). */
  crashed: (message: string) => void;
  /** Listening again after a crash, with every mount. */
  restarted: (port: number) => void;
};

interface Launch {
  child: ChildProcess;
  exited: Promise<void>;
  ready: boolean;
  stderr: string[];
  /** Answers awaited from the launcher, in the order the commands were sent. */
  pending: { resolve: () => void; reject: (err: Error) => void }[];
}

const SETPRIV = '/usr/bin/setpriv';
const KEPT_LINES = 20;

/**
 * GStreamer's RTSP server (Debian's gst-rtsp-server through python3-gi), run as a supervised
 * child: `start()` resolves once it listens; mounts are added and removed while it runs; a crash
 * restarts it on the same port with the same mounts. The launcher exits when our end of its stdin
 * closes, and with `setpriv --pdeathsig` the kernel ends it if this process dies, so it never
 * outlives us. Each mount `/NAME` is fed by an MPEG-TS (H.264) stream sent to 127.0.0.1:udpPort,
 * e.g. by an `RtspFeed`.
 */
export class RtspServer extends TypedEmitter<RtspServerEvents> {
  readonly host: string;
  private readonly requestedPort: number;
  private readonly pythonPath: string;
  private readonly pythonArgs: readonly string[];
  private readonly readyTimeoutMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly mounts = new Map<string, number>();
  private launch: Launch | null = null;
  private boundPort: number | null = null;
  private stopping = false;
  private crashes = 0;
  private restartTimer: TimerHandle | null = null;

  constructor(options: RtspServerOptions = {}) {
    super();
    this.host = options.host ?? '0.0.0.0';
    this.requestedPort = options.port ?? 8554;
    if (!(Number.isInteger(this.requestedPort) && this.requestedPort >= 0 && this.requestedPort <= 65535))
      throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', `RTSP port ${this.requestedPort} is not a port`);
    this.pythonPath = options.pythonPath ?? DEFAULT_PYTHON;
    this.pythonArgs = options.pythonArgs ?? [];
    this.readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'rtsp-server' });
  }

  /** The port it listens on (known once started). */
  get port(): number | null {
    return this.boundPort;
  }

  get pid(): number | undefined {
    return this.launch?.child.pid;
  }

  /** The URL of a mount, as seen from `host` (default: this box when listening on every address). */
  url(name: string, host?: string): string {
    if (this.boundPort === null) throw new Error('the RTSP server is not started');
    const h = host ?? (this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host);
    return `rtsp://${h.includes(':') ? `[${h}]` : h}:${this.boundPort}/${name}`;
  }

  /**
   * Starts the server; resolves with the port once it listens. Rejects with
   * `ICEBERG_ERR_RTSP_SERVER_MISSING` (python3, python3-gi or a GStreamer plugin is missing, named
   * with the Debian package to install) or `ICEBERG_ERR_ADDRESS_IN_USE`.
   */
  async start(): Promise<number> {
    if (this.launch) throw new Error('the RTSP server is already started');
    this.stopping = false;
    return this.spawnLauncher(this.requestedPort);
  }

  /** Serves `rtsp://HOST:PORT/NAME` from the MPEG-TS stream arriving on 127.0.0.1:udpPort. */
  async addMount(name: string, udpPort: number): Promise<void> {
    checkMount(name, udpPort);
    this.mounts.set(name, udpPort);
    await this.command({ op: 'add', name, udpPort });
  }

  async removeMount(name: string): Promise<void> {
    if (!this.mounts.delete(name)) return;
    await this.command({ op: 'remove', name });
  }

  /** Ends the server (closing its stdin, then signals); resolves when it is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const launch = this.launch;
    if (!launch) return;
    launch.child.stdin?.end();
    const term = this.clock.setTimeout(() => launch.child.kill('SIGTERM'), 2_000);
    const kill = this.clock.setTimeout(() => launch.child.kill('SIGKILL'), 5_000);
    await launch.exited;
    this.clock.clearTimeout(term);
    this.clock.clearTimeout(kill);
  }

  // ---------------------------------------------------------------------------------------------

  private async command(cmd: { op: 'add' | 'remove'; name: string; udpPort?: number }): Promise<void> {
    const launch = this.launch;
    // Not running (before start, or between a crash and its restart): the next launch gets every mount.
    if (!launch?.ready || !launch.child.stdin?.writable) return;
    await new Promise<void>((resolve, reject) => {
      launch.pending.push({ resolve, reject });
      launch.child.stdin?.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  private spawnLauncher(port: number): Promise<number> {
    const args = [
      ...this.pythonArgs,
      RTSP_LAUNCHER,
      '--host',
      this.host,
      '--port',
      String(port),
      ...[...this.mounts].flatMap(([name, udp]) => ['--mount', `${name}=${udp}`]),
    ];
    const [file, argv] = existsSync(SETPRIV)
      ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', this.pythonPath, ...args]]
      : [this.pythonPath, args];
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    let spawnError: (Error & { code?: string }) | null = null;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err: Error & { code?: string }) => {
        if (child.pid === undefined) {
          spawnError = err;
          resolve({ code: null, signal: null });
        }
      });
    });
    const launch: Launch = { child, exited: exited.then(() => {}), ready: false, stderr: [], pending: [] };
    this.launch = launch;
    for (const s of [child.stdin, child.stdout, child.stderr]) s?.on('error', () => {});

    return new Promise<number>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null, value?: number) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        if (err) reject(err);
        else resolve(value!);
      };
      const timer = this.clock.setTimeout(() => {
        settle(
          new IcebergError(
            'ICEBERG_ERR_RTSP_SERVER_MISSING',
            `GStreamer's RTSP server did not start within ${this.readyTimeoutMs / 1000} s${tail(launch.stderr)}`,
          ),
        );
        child.kill('SIGKILL');
      }, this.readyTimeoutMs);

      onLines(child.stdout, (line) => {
        const ready = /^ready (\d+)$/.exec(line);
        if (ready) {
          launch.ready = true;
          this.boundPort = Number(ready[1]);
          this.logger.info(
            { host: this.host, port: this.boundPort, mounts: this.mounts.size },
            'RTSP server listening',
          );
          settle(null, this.boundPort);
          return;
        }
        const answer = /^(ok|error) (\S+) (\S+)(?:: (.*))?$/.exec(line);
        const waiter = answer ? launch.pending.shift() : undefined;
        if (!answer || !waiter) {
          this.logger.debug({ line }, 'RTSP server says');
          return;
        }
        if (answer[1] === 'ok') waiter.resolve();
        else
          waiter.reject(
            new IcebergError(
              'ICEBERG_ERR_INPUT_INVALID',
              `RTSP mount ${answer[3]}: ${answer[4] ?? 'refused'}`,
            ),
          );
      });
      onLines(child.stderr, (line) => {
        launch.stderr.push(line);
        if (launch.stderr.length > KEPT_LINES) launch.stderr.shift();
        this.logger.debug({ line }, 'RTSP server log');
      });

      void exited.then(({ code, signal }) => {
        if (this.launch === launch) this.launch = null;
        for (const w of launch.pending.splice(0))
          w.reject(new IcebergError('ICEBERG_ERR_INTERNAL', 'the RTSP server exited'));
        if (!launch.ready) {
          settle(this.startError(code, signal, spawnError, launch.stderr, port));
          return;
        }
        if (this.stopping) {
          this.logger.info('RTSP server stopped');
          return;
        }
        this.onCrash(`exited with ${signal ?? `code ${code}`}${tail(launch.stderr)}`);
      });
    });
  }

  private onCrash(message: string): void {
    this.crashes++;
    const delay = backoffDelay(this.crashes, { initialMs: this.initialBackoffMs, maxMs: this.maxBackoffMs });
    this.logger.warn({ message, retryInMs: delay }, 'RTSP server crashed; restarting');
    this.emit('crashed', message);
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      // The same port again, so that every URL handed out keeps working.
      this.spawnLauncher(this.boundPort ?? this.requestedPort).then(
        (port) => {
          this.crashes = 0;
          this.emit('restarted', port);
        },
        (err: Error) => {
          if (!this.stopping) this.onCrash(err.message);
        },
      );
    }, delay);
  }

  private startError(
    code: number | null,
    signal: NodeJS.Signals | null,
    spawnError: (Error & { code?: string }) | null,
    stderr: readonly string[],
    port: number,
  ): IcebergError {
    const install = `install the Debian packages: apt-get install ${RTSP_DEBIAN_PACKAGES.join(' ')}`;
    if (spawnError)
      return new IcebergError(
        'ICEBERG_ERR_RTSP_SERVER_MISSING',
        `cannot run ${this.pythonPath} (${spawnError.code ?? spawnError.message}): GStreamer's RTSP server needs Debian's python3; ${install}`,
      );
    // setpriv could not run python (ENOENT, EACCES): it says so and exits with 126/127.
    const notRun = stderr.find((l) => /failed to execute/i.test(l));
    if (notRun || code === 126 || code === 127)
      return new IcebergError(
        'ICEBERG_ERR_RTSP_SERVER_MISSING',
        `cannot run ${this.pythonPath}${notRun ? ` (${notRun})` : ''}: GStreamer's RTSP server needs Debian's python3; ${install}`,
      );
    if (code === 4)
      return new IcebergError(
        'ICEBERG_ERR_RTSP_SERVER_MISSING',
        `GStreamer's RTSP server cannot run with ${this.pythonPath}: ${stderr.join('; ') || 'a module is missing'}; ${install}`,
      );
    if (code === 3)
      return new IcebergError(
        'ICEBERG_ERR_ADDRESS_IN_USE',
        `cannot listen for RTSP on ${this.host}:${port}: the port is in use (another iceberg convert or RTSP server?) or the address is not this machine's`,
      );
    return new IcebergError(
      'ICEBERG_ERR_INTERNAL',
      `the RTSP server exited with ${signal ?? `code ${code}`} before listening${tail(stderr)}`,
    );
  }
}

function checkMount(name: string, udpPort: number): void {
  if (!MOUNT_NAME.test(name))
    throw new IcebergError(
      'ICEBERG_ERR_INPUT_INVALID',
      `"${name}" cannot be an RTSP mount name: use letters, digits, ".", "_" and "-" (at most 64, not starting with a symbol)`,
    );
  if (!(Number.isInteger(udpPort) && udpPort > 0 && udpPort <= 65535))
    throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', `RTSP mount ${name}: ${udpPort} is not a UDP port`);
}

function onLines(stream: NodeJS.ReadableStream | null, fn: (line: string) => void): void {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = (lines.pop() ?? '').slice(-4096);
    for (const line of lines) if (line.trim() !== '') fn(line.trim());
  });
}

function tail(lines: readonly string[]): string {
  const last = lines.filter((l) => !/^\s*$/.test(l)).slice(-3);
  return last.length > 0 ? ` (${last.join('; ')})` : '';
}
