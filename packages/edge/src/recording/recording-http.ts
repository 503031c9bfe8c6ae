/**
 * The device's media endpoint (distributed mode, docs/recording.md): a small node:http server
 * through which the analytics server fetches recorded segments on demand.
 *
 *   GET|HEAD /recordings/<org>/<camera>/<yyyymmdd>/<hh>/<startedAt>.mp4   (bearer token)
 *   GET|HEAD /health
 *
 * Only files of the device's segment index are served (no directory listings, no staging files,
 * no index files), confined to `<dataDir>/recordings/<org>/` lexically and through symbolic
 * links. The token is compared in constant time: none is 401, a wrong one 403, and an address
 * that keeps failing is told to slow down (429). `Range` (one range) gives 206, an unsatisfiable
 * one 416. Requests in flight are capped (503 with Retry-After beyond).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { resolve, sep } from 'node:path';
import { finished } from 'node:stream';
import {
  type Clock,
  errorMessage,
  IcebergError,
  type Logger,
  silentLogger,
  systemClock,
} from '@iceberg/common';
import type { RecordingHttpConfig } from '@iceberg/config';
import { resolveRef, type StoredSegment } from './segment-index.ts';

/** The index entry of a segment path (`recordings/<org>/<camera>/…`), when the device has it. */
export type SegmentLookup = (path: string) => StoredSegment | undefined;

export interface RecordingHttpOptions {
  config: Pick<RecordingHttpConfig, 'host' | 'port' | 'token' | 'publicUrl'>;
  dataDir: string;
  orgId: string;
  lookup: SegmentLookup;
  logger?: Logger;
  clock?: Pick<Clock, 'now'>;
  /** Responses being sent at once (default 16); more get 503 with Retry-After. */
  maxConcurrent?: number;
  /** Failed authentications per address per minute before 429 (default 20). */
  maxAuthFailuresPerMinute?: number;
}

/** `recordings/<org>/<camera>/<yyyymmdd>/<hh>/<startedAt>.mp4`, the only shape ever served. */
const SEGMENT_PATH =
  /^recordings\/([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)\/\d{8}\/\d{2}\/\d{1,15}\.mp4$/;
const MINUTE_MS = 60_000;
/** Addresses whose failures are remembered (the oldest are forgotten beyond). */
const MAX_TRACKED_ADDRESSES = 10_000;

/** A single `bytes=` range of a file of `size` bytes: [start, end] inclusive, 'unsatisfiable', or null (ignore the header). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // several ranges or another unit: RFC 9110 lets a server send the whole file
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (!Number.isSafeInteger(suffix)) return null;
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? Number.MAX_SAFE_INTEGER : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The device's HTTP endpoint for its recordings (started by the edge agent when `recording.http.enabled`). */
export class RecordingHttpServer {
  private server: Server | null = null;
  private port = 0;
  private active = 0;
  private readonly expected: Buffer;
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly logger: Logger;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly maxConcurrent: number;
  private readonly maxFailures: number;
  readonly counters = { served: 0, unauthorised: 0, forbidden: 0, notFound: 0, busy: 0, limited: 0 };

  constructor(private readonly o: RecordingHttpOptions) {
    if (!o.config.token || o.config.token.length < 24)
      throw new IcebergError(
        'ICEBERG_ERR_CONFIG_INVALID',
        'recording.http.token: required when recording.http.enabled is true (at least 24 characters)',
      );
    this.expected = digest(o.config.token);
    this.logger = (o.logger ?? silentLogger()).child({ component: 'recording-http' });
    this.clock = o.clock ?? systemClock;
    this.maxConcurrent = o.maxConcurrent ?? 16;
    this.maxFailures = o.maxAuthFailuresPerMinute ?? 20;
  }

  /** The URL the server should use: `publicUrl`, else http://<host or this machine's name>:<port>. */
  get url(): string {
    if (this.o.config.publicUrl) return this.o.config.publicUrl.replace(/\/+$/, '');
    const host = this.o.config.host;
    const name = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
    return `http://${name}:${this.port}`;
  }

  /** Listening (the port is known) until `stop`. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 256;
    server.maxHeadersCount = 50;
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new IcebergError(
                'ICEBERG_ERR_ADDRESS_IN_USE',
                `recording.http.port: ${this.o.config.host}:${this.o.config.port} is already in use`,
              )
            : err,
        ),
      );
      server.listen(this.o.config.port, this.o.config.host, () => resolveListen());
    });
    server.on('error', (err) => this.logger.error({ err: errorMessage(err) }, 'media endpoint error'));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.logger.info({ url: this.url }, 'recordings media endpoint listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    void this.route(req, res).catch((err) => {
      this.logger.error({ err: errorMessage(err) }, 'media request failed');
      if (!res.headersSent) this.text(res, 500, 'internal error');
      else res.destroy();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/health') {
      if (method !== 'GET' && method !== 'HEAD') return this.notAllowed(res);
      return this.json(res, 200, { status: 'ok' }, method === 'HEAD');
    }
    if (!path.startsWith('/recordings/')) return this.notFound(res);
    if (method !== 'GET' && method !== 'HEAD') return this.notAllowed(res);

    // Authentication first: nothing about the files is told to someone without the token.
    const address = req.socket.remoteAddress ?? 'unknown';
    if (this.limited(address)) {
      this.counters.limited++;
      res.setHeader('Retry-After', '60');
      return this.text(res, 429, 'too many failed attempts: try again in a minute');
    }
    const auth = req.headers.authorization;
    const m = auth === undefined ? null : /^Bearer ([\x21-\x7e]{1,1024})$/.exec(auth);
    if (!m) {
      this.counters.unauthorised++;
      this.fail(address);
      res.setHeader('WWW-Authenticate', 'Bearer realm="iceberg-recordings"');
      return this.text(res, 401, 'a bearer token is required');
    }
    if (!timingSafeEqual(digest(m[1] as string), this.expected)) {
      this.counters.forbidden++;
      this.fail(address);
      this.logger.warn({ from: address }, 'media request with a wrong token refused');
      return this.text(res, 403, 'the token is not valid for this device');
    }

    const ref = path.slice(1);
    const shape = SEGMENT_PATH.exec(ref);
    const entry = shape && shape[1] === this.o.orgId ? this.o.lookup(ref) : undefined;
    if (!entry || entry.pending || entry.segment.path !== ref) return this.notFound(res);
    const handle = await this.openConfined(ref);
    if (!handle) return this.notFound(res);

    if (this.active >= this.maxConcurrent) {
      await handle.close();
      this.counters.busy++;
      res.setHeader('Retry-After', '1');
      return this.text(res, 503, 'busy: try again in a second');
    }
    this.active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      void handle.close().catch(() => undefined);
    };
    try {
      const size = (await handle.stat()).size;
      const range = parseRange(req.headers.range, size);
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('Content-Type', 'video/mp4');
      res.setHeader('Cache-Control', 'private, no-store');
      if (range === 'unsatisfiable') {
        res.setHeader('Content-Range', `bytes */${size}`);
        release();
        return this.text(res, 416, 'the range is outside the file');
      }
      const start = range ? range.start : 0;
      const end = range ? range.end : size - 1;
      res.statusCode = range ? 206 : 200;
      if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
      res.setHeader('Content-Length', String(Math.max(0, end - start + 1)));
      this.counters.served++;
      if (method === 'HEAD' || end < start) {
        res.end();
        release();
        return;
      }
      const stream = createReadStream('', { fd: handle, start, end, autoClose: false });
      finished(res, release);
      stream.on('error', (err) => {
        this.logger.warn({ err: errorMessage(err), path: ref }, 'reading a segment failed');
        res.destroy();
        release();
      });
      stream.pipe(res);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The segment's file, opened without following links, when it lies inside this organisation's recordings. */
  private async openConfined(ref: string): Promise<FileHandle | null> {
    try {
      const file = resolveRef(this.o.dataDir, ref);
      const rootDir = resolve(this.o.dataDir, 'recordings', this.o.orgId);
      if (!file.startsWith(rootDir + sep)) return null;
      const [real, root] = await Promise.all([realpath(file), realpath(rootDir)]);
      if (!real.startsWith(root + sep)) return null;
      const handle = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        return null;
      }
      return handle;
    } catch {
      return null;
    }
  }

  private limited(address: string): boolean {
    const f = this.failures.get(address);
    if (!f) return false;
    if (this.clock.now() - f.since > MINUTE_MS) {
      this.failures.delete(address);
      return false;
    }
    return f.count >= this.maxFailures;
  }

  private fail(address: string): void {
    const now = this.clock.now();
    const f = this.failures.get(address);
    if (f && now - f.since <= MINUTE_MS) f.count++;
    else {
      this.failures.delete(address);
      this.failures.set(address, { count: 1, since: now });
      if (this.failures.size > MAX_TRACKED_ADDRESSES)
        this.failures.delete(this.failures.keys().next().value as string);
    }
  }

  private notFound(res: ServerResponse): void {
    this.counters.notFound++;
    this.text(res, 404, 'not found');
  }

  private notAllowed(res: ServerResponse): void {
    res.setHeader('Allow', 'GET, HEAD');
    this.text(res, 405, 'method not allowed');
  }

  private text(res: ServerResponse, status: number, message: string): void {
    this.json(res, status, { error: message });
  }

  private json(res: ServerResponse, status: number, body: unknown, head = false): void {
    const text = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', String(Buffer.byteLength(text)));
    res.end(head ? undefined : text);
  }
}
