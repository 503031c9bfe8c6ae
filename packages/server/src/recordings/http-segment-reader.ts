/**
 * The distributed adapter of the SegmentReader port: segments are fetched on demand from the
 * device that recorded them, over its media endpoint (`recording.http` on the device,
 * packages/edge/src/recording/recording-http.ts): `GET <mediaUrl>/<segment path>` with `Range`
 * and the device's bearer token. The device's URL comes from its latest heartbeat
 * (`device-status.v1` `mediaUrl`, kept by the ingest in the devices table); its token from
 * `server.deviceMedia.tokens["<org>/<device>"]`. A device that cannot be reached, or refuses the
 * token, is a 502 that names it; a file the device no longer has is "not there" (null).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import {
  type Clock,
  errorMessage,
  IcebergError,
  type Logger,
  silentLogger,
  systemClock,
} from '@iceberg/common';
import type { DeviceStatusV1 } from '@iceberg/contracts';
import {
  type OpenedSegment,
  resolveSegmentPath,
  type SegmentReader,
  type SegmentRef,
} from './segment-reader.ts';

/** What the reader needs of the devices table: the latest heartbeat of a device. */
export interface DeviceDirectory {
  get(
    orgId: string,
    deviceId: string,
  ): Promise<{ status: Pick<DeviceStatusV1, 'mediaUrl'> | null } | undefined>;
}

export interface HttpSegmentReaderOptions {
  devices: DeviceDirectory;
  /** `"<orgId>/<deviceId>"` → the device's media token (server.deviceMedia.tokens). */
  tokens: Readonly<Record<string, string>>;
  /** Connecting, and each wait for bytes, gives up after this long. */
  timeoutMs: number;
  logger?: Logger;
  clock?: Pick<Clock, 'now'>;
  /** How long a device's URL is reused before the devices table is asked again (default 5 s). */
  urlCacheMs?: number;
  /** Bytes fetched at least per random read: box headers of neighbouring fragments come in one request. */
  readAheadBytes?: number;
}

const BUSY_RETRIES = 3;
const MAX_RETRY_WAIT_MS = 2_000;
/** Blocks of read-ahead kept per opened segment. */
const CACHED_BLOCKS = 4;

interface Block {
  start: number;
  bytes: Buffer;
}

/** Reads segments from the devices' media endpoints. */
export class HttpSegmentReader implements SegmentReader {
  private readonly logger: Logger;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly urls = new Map<string, { url: string | null; at: number }>();
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 8 });
  private readonly readAhead: number;

  constructor(private readonly o: HttpSegmentReaderOptions) {
    this.logger = (o.logger ?? silentLogger()).child({ component: 'http-segment-reader' });
    this.clock = o.clock ?? systemClock;
    this.readAhead = o.readAheadBytes ?? 64 * 1024;
  }

  async open(segment: SegmentRef): Promise<OpenedSegment | null> {
    // The same lexical confinement as on the local disk: the organisation's own recordings only.
    if (resolveSegmentPath('/', segment.orgId, segment.path) === null) return null;
    const device = segment.deviceId;
    const token = this.o.tokens[`${segment.orgId}/${device}`];
    if (!token)
      throw unreachable(
        device,
        `this server has no media token for it (server.deviceMedia.tokens["${segment.orgId}/${device}"])`,
      );
    const base = await this.mediaUrl(segment.orgId, device);
    if (!base)
      throw unreachable(device, 'it has not reported a media endpoint (recording.http on the device)');
    const url = `${base.replace(/\/+$/, '')}/${segment.path.split('/').map(encodeURIComponent).join('/')}`;

    // The first block: the file's size (Content-Range) and its first boxes in one request.
    const first = await this.fetch(url, token, device, 0, this.readAhead);
    if (first === null) return null;
    const size = first.size;
    const blocks: Block[] = [{ start: 0, bytes: first.bytes }];
    const cached = (position: number, length: number): Buffer | null => {
      for (const b of blocks)
        if (position >= b.start && position + length <= b.start + b.bytes.length)
          return b.bytes.subarray(position - b.start, position - b.start + length);
      return null;
    };
    return {
      size,
      localPath: null,
      read: async (position, length) => {
        const want = Math.max(0, Math.min(length, size - position));
        if (want === 0) return Buffer.alloc(0);
        const hit = cached(position, want);
        if (hit) return hit;
        const got = await this.fetch(url, token, device, position, Math.max(want, this.readAhead));
        if (got === null) throw unreachable(device, 'the file disappeared while it was being read');
        if (want <= this.readAhead) {
          blocks.push({ start: position, bytes: got.bytes });
          if (blocks.length > CACHED_BLOCKS) blocks.shift();
        }
        return got.bytes.subarray(0, want);
      },
      stream: (start, end) => this.stream(url, token, device, start, end),
      close: async () => {
        blocks.length = 0;
      },
    };
  }

  /** Closes idle keep-alive connections (the server's shutdown). */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private async mediaUrl(orgId: string, deviceId: string): Promise<string | null> {
    const key = `${orgId}/${deviceId}`;
    const now = this.clock.now();
    const hit = this.urls.get(key);
    if (hit && now - hit.at < (this.o.urlCacheMs ?? 5_000)) return hit.url;
    const device = await this.o.devices.get(orgId, deviceId);
    const url = device?.status?.mediaUrl ?? null;
    this.urls.set(key, { url, at: now });
    if (this.urls.size > 10_000) this.urls.delete(this.urls.keys().next().value as string);
    return url;
  }

  /**
   * Bytes [position, position + length) (fewer at the end of the file) and the file's size, or
   * null when the device does not have the file.
   */
  private async fetch(
    url: string,
    token: string,
    device: string,
    position: number,
    length: number,
  ): Promise<{ bytes: Buffer; size: number } | null> {
    const res = await this.request(url, token, device, `bytes=${position}-${position + length - 1}`);
    if (res === null) return null;
    if (res.statusCode === 416) {
      res.resume();
      const size = Number(/\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1] ?? 0);
      return { bytes: Buffer.alloc(0), size };
    }
    const range = parseContentRange(res);
    if (!range || range.start !== position) {
      res.destroy();
      throw unreachable(device, 'it did not answer the byte range it was asked for');
    }
    const bytes = await readBody(res, Math.min(length, range.size - position), device, this.o.timeoutMs);
    return { bytes, size: range.size };
  }

  /** Bytes [start, end) as a stream; a failure on the way ends it with a 502 error. */
  private stream(url: string, token: string, device: string, start: number, end: number): Readable {
    const out = new PassThrough();
    if (end <= start) {
      out.end();
      return out;
    }
    void this.request(url, token, device, `bytes=${start}-${end - 1}`).then(
      (res) => {
        if (res === null) {
          out.destroy(unreachable(device, 'the file is gone from the device'));
          return;
        }
        const range = parseContentRange(res);
        if (!range || range.start !== start || res.statusCode === 416) {
          res.destroy();
          out.destroy(unreachable(device, 'it did not answer the byte range it was asked for'));
          return;
        }
        res.setTimeout(this.o.timeoutMs, () =>
          res.destroy(unreachable(device, `no data for ${this.o.timeoutMs / 1000} s`)),
        );
        res.on('error', (err) =>
          out.destroy(err instanceof IcebergError ? err : unreachable(device, errorMessage(err))),
        );
        out.on('close', () => res.destroy()); // the viewer went away: stop fetching
        res.pipe(out);
      },
      (err) => out.destroy(err),
    );
    return out;
  }

  /**
   * One GET with a Range; busy answers (429, 503) are retried a few times. Null when the device
   * has no such file (404); otherwise a 206/200/416 response whose body the caller consumes.
   */
  private async request(
    url: string,
    token: string,
    device: string,
    range: string,
  ): Promise<IncomingMessage | null> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(url, token, device, range);
      const status = res.statusCode ?? 0;
      if (status === 200 || status === 206 || status === 416) return res;
      res.resume();
      if (status === 404 || status === 410) return null;
      if (status === 401 || status === 403)
        throw unreachable(
          device,
          `it refused the server's token (${status}): check server.deviceMedia.tokens against the device's recording.http.token`,
        );
      if ((status === 429 || status === 503) && attempt < BUSY_RETRIES) {
        const after = Number(res.headers['retry-after']);
        const wait = Number.isFinite(after) && after > 0 ? after * 1000 : 250 * 2 ** attempt;
        await new Promise((r) => setTimeout(r, Math.min(wait, MAX_RETRY_WAIT_MS)));
        continue;
      }
      throw unreachable(device, `it answered ${status}`);
    }
  }

  private send(url: string, token: string, device: string, range: string): Promise<IncomingMessage> {
    return new Promise((resolveSend, reject) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        reject(unreachable(device, 'its media URL is not valid'));
        return;
      }
      const secure = parsed.protocol === 'https:';
      const req = (secure ? httpsRequest : httpRequest)(parsed, {
        method: 'GET',
        agent: secure ? this.https : this.http,
        headers: { authorization: `Bearer ${token}`, range },
        timeout: this.o.timeoutMs,
      });
      req.once('timeout', () =>
        req.destroy(new Error(`no answer within ${Math.round(this.o.timeoutMs / 1000)} s`)),
      );
      req.once('error', (err) => {
        this.logger.warn({ device, err: errorMessage(err) }, 'recording device cannot be reached');
        reject(unreachable(device, errorMessage(err)));
      });
      req.once('response', (res) => {
        req.setTimeout(0);
        resolveSend(res);
      });
      req.end();
    });
  }
}

/** A local file when the server has it (the all-in-one box), else the device's copy. */
export class CompositeSegmentReader implements SegmentReader {
  constructor(
    private readonly local: SegmentReader,
    private readonly remote: SegmentReader | null,
  ) {}

  async open(segment: SegmentRef): Promise<OpenedSegment | null> {
    return (await this.local.open(segment)) ?? (this.remote ? this.remote.open(segment) : null);
  }
}

function unreachable(device: string, why: string): IcebergError {
  return new IcebergError(
    'ICEBERG_ERR_DEVICE_UNREACHABLE',
    `the recording device ${device} cannot be reached: ${why}`,
    { details: { deviceId: device } },
  );
}

/** `Content-Range: bytes a-b/size` of a 206, or the whole file of a 200. */
function parseContentRange(res: IncomingMessage): { start: number; size: number } | null {
  if (res.statusCode === 200) {
    const size = Number(res.headers['content-length']);
    return Number.isSafeInteger(size) ? { start: 0, size } : null;
  }
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
  return m ? { start: Number(m[1]), size: Number(m[3]) } : null;
}

/** The response body, at most `max` bytes (the rest is not read). */
async function readBody(
  res: IncomingMessage,
  max: number,
  device: string,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    res.setTimeout(timeoutMs, () => res.destroy(new Error(`no data for ${Math.round(timeoutMs / 1000)} s`)));
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length > max) {
        // more than was asked for: take what was, drop the connection
        res.destroy();
        resolveBody(Buffer.concat(chunks).subarray(0, max));
      }
    });
    res.once('end', () => resolveBody(Buffer.concat(chunks).subarray(0, max)));
    res.once('error', (err) => reject(unreachable(device, errorMessage(err))));
    res.once('close', () => {
      if (length < max && !res.complete) reject(unreachable(device, 'the connection was cut'));
    });
  });
}
