import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isAbsolute, join, resolve } from 'node:path';
import { type Clock, IcebergError, type Logger, systemClock, TypedEmitter } from '@iceberg/common';
import type { RestreamConfig } from '@iceberg/config';
import { Id } from '@iceberg/contracts';
import type { UrlSigner } from '../auth/url-signer.ts';
import { Fmp4Relay } from './fmp4-relay.ts';
import { renderNginxConfig } from './nginx-config.ts';
import { freePort, NginxProcess } from './nginx-process.ts';
import type { PlaybackUrls, Restreamer, RestreamerEvents, StreamRef } from './restreamer.ts';

/**
 * The re-streaming server: Debian's nginx with the RTMP module, run and supervised by Iceberg
 * (see docs/live-view.md). Devices publish `rtmp://<rtmpHost>:<port>/live/<streamId>?key=<key>`;
 * every publish is checked by nginx's `on_publish` callback against the stream's random key
 * (known only here and to the commanded device), on a loopback-only HTTP listener of this
 * process. nginx writes HLS to `<dataDir>/live/hls/<streamId>/`; the API serves it under signed,
 * expiring URLs (`/live/hls/<token>/index.m3u8`), and `/live/ws/<token>` relays fMP4 for low
 * latency (`Fmp4Relay`). Closing a stream revokes its key, drops its publisher within a few
 * seconds (`on_update` answers 403) and removes its HLS files.
 */
export interface NginxRestreamerOptions {
  config: RestreamConfig;
  dataDir: string;
  signer: UrlSigner;
  logger: Logger;
  ffmpegPath: string;
  clock?: Clock;
}

interface Stream {
  ref: StreamRef;
  key: string;
  publishing: boolean;
  /** nginx's client id of the accepted publisher. */
  clientId: string | null;
}

/** The resource a playback token opens. */
export const liveResource = (streamId: string) => `live/${streamId}`;

const MAX_CALLBACK_BODY = 16 * 1024;

export class NginxRestreamer extends TypedEmitter<RestreamerEvents> implements Restreamer {
  readonly #o: NginxRestreamerOptions;
  readonly #clock: Clock;
  readonly #dir: string;
  readonly #hlsDir: string;
  readonly #streams = new Map<string, Stream>();
  /** Streams closed while their publisher may still write (their files are removed again when it ends). */
  readonly #closed = new Set<string>();
  readonly #relays = new Map<string, Fmp4Relay>();
  #callback: Server | null = null;
  #nginx: NginxProcess | null = null;
  #port = 0;
  #unavailable: string | null = 'the re-streaming server has not started';

  constructor(options: NginxRestreamerOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    const dataDir = isAbsolute(options.dataDir) ? options.dataDir : resolve(options.dataDir);
    this.#dir = join(dataDir, 'live');
    this.#hlsDir = join(this.#dir, 'hls');
  }

  /** The RTMP port nginx listens on (after start). */
  get rtmpPort(): number {
    return this.#port;
  }

  /** Why live view is unavailable (nginx missing, disabled, not started), or null when it works. */
  get unavailableReason(): string | null {
    return this.#unavailable;
  }

  /** Marks live view as off (config): every call answers 503 with `reason`. */
  disable(reason: string): void {
    this.#unavailable = reason;
  }

  /**
   * Writes the config and starts nginx (and the publish-callback listener). A missing nginx or
   * RTMP module is an ICEBERG_ERR_RESTREAM_UNAVAILABLE error, also kept as `unavailableReason`.
   */
  async start(): Promise<void> {
    const c = this.#o.config;
    try {
      NginxProcess.check(c.nginxPath, c.modulePath);
      mkdirSync(this.#hlsDir, { recursive: true });
      this.#callback = await this.#listenCallbacks();
      const address = this.#callback.address();
      const callbackPort = typeof address === 'object' && address ? address.port : 0;
      this.#port = c.rtmpPort === 0 ? await freePort(c.rtmpBind) : c.rtmpPort;
      const pidPath = join(this.#dir, 'nginx.pid');
      this.#nginx = new NginxProcess({
        nginxPath: c.nginxPath,
        modulePath: c.modulePath,
        dir: this.#dir,
        pidPath,
        rtmpPort: this.#port,
        logger: this.#o.logger,
        writeConfig: () => {
          mkdirSync(this.#hlsDir, { recursive: true });
          writeFileSync(
            join(this.#dir, 'nginx.conf'),
            renderNginxConfig({
              modulePath: c.modulePath,
              pidPath,
              rtmpBind: c.rtmpBind,
              rtmpPort: this.#port,
              hlsPath: this.#hlsDir,
              hlsFragmentSeconds: c.hlsFragmentSeconds,
              hlsPlaylistSeconds: c.hlsPlaylistSeconds,
              callbackBase: `http://127.0.0.1:${callbackPort}/rtmp`,
            }),
          );
        },
      });
      await this.#nginx.start();
      this.#unavailable = null;
      this.#o.logger.info(
        { rtmp: `rtmp://${c.rtmpHost}:${this.#port}/live`, hls: this.#hlsDir },
        're-streaming server (nginx) ready',
      );
    } catch (err) {
      this.#unavailable = (err as Error).message;
      await this.#closeCallbacks();
      throw err instanceof IcebergError
        ? err
        : new IcebergError(
            'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
            `live view is unavailable: ${(err as Error).message}`,
          );
    }
  }

  async close(): Promise<void> {
    for (const relay of this.#relays.values()) relay.close('the server is stopping');
    this.#relays.clear();
    await this.#nginx?.stop();
    this.#nginx = null;
    await this.#closeCallbacks();
    for (const id of [...this.#streams.keys(), ...this.#closed]) this.#removeFiles(id);
    this.#streams.clear();
    this.#closed.clear();
    this.#unavailable = 'the re-streaming server has stopped';
  }

  #assertAvailable(): void {
    if (this.#unavailable) throw new IcebergError('ICEBERG_ERR_RESTREAM_UNAVAILABLE', this.#unavailable);
  }

  openStream(ref: StreamRef): { publishUrl: string } {
    this.#assertAvailable();
    if (!Id.safeParse(ref.streamId).success)
      throw new IcebergError(
        'ICEBERG_ERR_INPUT_INVALID',
        `not a stream id: ${JSON.stringify(ref.streamId).slice(0, 80)}`,
      );
    let stream = this.#streams.get(ref.streamId);
    if (stream && (stream.ref.orgId !== ref.orgId || stream.ref.cameraId !== ref.cameraId))
      throw new IcebergError('ICEBERG_ERR_CONFLICT', `stream ${ref.streamId} belongs to another camera`);
    if (!stream) {
      stream = {
        ref: { ...ref },
        key: randomBytes(24).toString('base64url'),
        publishing: false,
        clientId: null,
      };
      this.#streams.set(ref.streamId, stream);
      this.#closed.delete(ref.streamId);
    }
    const host = this.#o.config.rtmpHost;
    const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return { publishUrl: `rtmp://${h}:${this.#port}/live/${ref.streamId}?key=${stream.key}` };
  }

  closeStream(streamId: string): void {
    const stream = this.#streams.get(streamId);
    if (!stream) return;
    this.#streams.delete(streamId);
    this.#closed.add(streamId);
    const relay = this.#relays.get(streamId);
    this.#relays.delete(streamId);
    relay?.close('the live view has ended');
    this.#removeFiles(streamId);
    if (stream.publishing) {
      stream.publishing = false;
      this.emit('publishEnded', stream.ref);
    }
  }

  playbackUrls(streamId: string, expiresAt: number): PlaybackUrls {
    this.#assertAvailable();
    const stream = this.#streams.get(streamId);
    if (!stream) throw new IcebergError('ICEBERG_ERR_NOT_FOUND', `no live stream ${streamId}`);
    const token = this.#o.signer.sign({
      orgId: stream.ref.orgId,
      resource: liveResource(streamId),
      expiresAt,
    });
    return { hls: `/live/hls/${token}/index.m3u8`, ws: `/live/ws/${token}`, expiresAt };
  }

  isPublishing(streamId: string): boolean {
    return this.#streams.get(streamId)?.publishing ?? false;
  }

  /**
   * The stream a playback token opens: ICEBERG_ERR_FORBIDDEN for a bad, expired or foreign token
   * (`callerOrgId`: the organisation of an authenticated caller), NOT_FOUND when it has ended.
   */
  resolvePlayback(token: string, callerOrgId?: string): StreamRef {
    const claims = this.#o.signer.verify(token, this.#clock.now());
    const m = /^live\/(.+)$/.exec(claims.resource);
    if (!m) throw new IcebergError('ICEBERG_ERR_FORBIDDEN', 'this media link is not valid or has expired');
    if (callerOrgId !== undefined && callerOrgId !== claims.orgId)
      throw new IcebergError('ICEBERG_ERR_FORBIDDEN', 'this live stream belongs to another organisation');
    const stream = this.#streams.get(m[1]!);
    if (!stream || stream.ref.orgId !== claims.orgId)
      throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'this live stream has ended');
    return stream.ref;
  }

  /** Folder of a stream's HLS files (nginx's `hls_nested`). */
  hlsFolder(streamId: string): string {
    return join(this.#hlsDir, Id.parse(streamId));
  }

  /** The low-latency relay of a stream (created on first use; it stops when its last viewer leaves). */
  relay(streamId: string): Fmp4Relay {
    let relay = this.#relays.get(streamId);
    if (!relay) {
      const created = new Fmp4Relay({
        source: `rtmp://127.0.0.1:${this.#port}/live/${Id.parse(streamId)}`,
        ffmpegPath: this.#o.ffmpegPath,
        logger: this.#o.logger,
        onIdle: () => {
          if (this.#relays.get(streamId) === created) this.#relays.delete(streamId);
        },
      });
      relay = created;
      this.#relays.set(streamId, relay);
    }
    return relay;
  }

  /** Whether a low-latency relay (its ffmpeg) runs for the stream. */
  relayRunning(streamId: string): boolean {
    return this.#relays.get(streamId)?.running ?? false;
  }

  #removeFiles(streamId: string): void {
    try {
      rmSync(join(this.#hlsDir, Id.parse(streamId)), { recursive: true, force: true });
    } catch (err) {
      this.#o.logger.warn({ streamId, err: (err as Error).message }, 'could not remove HLS files');
    }
  }

  #listenCallbacks(): Promise<Server> {
    const server = createServer((req, res) => this.#onCallback(req, res));
    return new Promise((resolvePromise, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolvePromise(server));
    });
  }

  async #closeCallbacks(): Promise<void> {
    const server = this.#callback;
    this.#callback = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** nginx's notifications: POST form fields (`call`, `name`, `clientid`, the URL's `key`, …). */
  #onCallback(req: IncomingMessage, res: ServerResponse): void {
    const answer = (status: number) => {
      res.statusCode = status;
      res.end();
    };
    const remote = req.socket.remoteAddress ?? '';
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote) || req.method !== 'POST') {
      answer(403);
      return;
    }
    let body = '';
    let tooLarge = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_CALLBACK_BODY) {
        tooLarge = true;
        req.destroy();
      }
    });
    req.on('end', () => {
      if (tooLarge) return answer(413);
      const form = new URLSearchParams(body);
      const path = (req.url ?? '').split('?')[0];
      switch (path) {
        case '/rtmp/publish':
          return answer(this.#onPublish(form) ? 200 : 403);
        case '/rtmp/publish-done':
          this.#onPublishDone(form);
          return answer(200);
        case '/rtmp/update':
          return answer(this.#onUpdate(form) ? 200 : 403);
        default:
          return answer(404);
      }
    });
  }

  #onPublish(form: URLSearchParams): boolean {
    const name = form.get('name') ?? '';
    const stream = form.get('app') === 'live' ? this.#streams.get(name) : undefined;
    const given = Buffer.from(form.get('key') ?? '', 'utf8');
    const ok =
      stream !== undefined &&
      given.length === Buffer.byteLength(stream.key) &&
      timingSafeEqual(given, Buffer.from(stream.key, 'utf8'));
    if (!ok || !stream) {
      this.#o.logger.warn(
        { stream: name.slice(0, 100), addr: form.get('addr') },
        'RTMP publish refused: no valid key',
      );
      return false;
    }
    stream.publishing = true;
    stream.clientId = form.get('clientid');
    this.#o.logger.info({ streamId: name, cameraId: stream.ref.cameraId }, 'RTMP publish accepted');
    this.emit('publishStarted', { ...stream.ref });
    return true;
  }

  #onPublishDone(form: URLSearchParams): void {
    const name = form.get('name') ?? '';
    if (this.#closed.has(name)) this.#removeFiles(name);
    const stream = this.#streams.get(name);
    if (!stream?.publishing || stream.clientId !== form.get('clientid')) return;
    stream.publishing = false;
    stream.clientId = null;
    this.#o.logger.info({ streamId: name }, 'RTMP publish ended');
    this.emit('publishEnded', { ...stream.ref });
  }

  /** Periodic check of a running publish: a stream that was closed loses its publisher. */
  #onUpdate(form: URLSearchParams): boolean {
    if (form.get('call') !== 'update_publish') return true;
    const stream = this.#streams.get(form.get('name') ?? '');
    return stream !== undefined && stream.clientId === form.get('clientid');
  }

  /** For tests: whether HLS files of the stream exist. */
  hasFiles(streamId: string): boolean {
    return existsSync(join(this.#hlsDir, Id.parse(streamId)));
  }
}

/**
 * The re-streaming server of `iceberg server`/`iceberg demo`: started when `server.restream.enabled`.
 * A missing nginx or RTMP module is logged as an error and the restreamer stays in place
 * unavailable (live view answers 503 with the reason); the rest of the server runs on.
 */
export async function startRestreamer(o: NginxRestreamerOptions): Promise<NginxRestreamer> {
  const restreamer = new NginxRestreamer(o);
  if (!o.config.enabled) {
    restreamer.disable('live view is turned off on this server (server.restream.enabled is false)');
    return restreamer;
  }
  try {
    await restreamer.start();
  } catch (err) {
    o.logger.error(
      { err: (err as Error).message },
      'live view is unavailable: the re-streaming server did not start',
    );
  }
  return restreamer;
}
