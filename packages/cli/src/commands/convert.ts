import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import {
  classifyInput,
  type FeedVideoMode,
  freeUdpPort,
  MOUNT_NAME,
  RtspFeed,
  RtspServer,
  redactUrl,
} from '@iceberg/edge';
import { UsageError } from '../usage-error.ts';
import { waitForSignal } from './all-in-one.ts';

export interface ConvertOptions {
  /** One mount per input: `rtsp://HOST:PORT/NAME`. */
  streams: { input: string; name: string }[];
  host: string;
  port: number;
  loop: boolean;
  video: FeedVideoMode;
  rtspTransport: 'tcp' | 'udp';
  ffmpegPath: string;
  pythonPath?: string;
  logger: Logger;
}

export interface RunningConverter {
  server: RtspServer;
  feeds: RtspFeed[];
  /** The URL of each stream, as reached from this machine. */
  urls: string[];
  /** Resolves when every feed has ended (files that are not looped). */
  ended: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The analogue-to-RTSP converter: GStreamer's RTSP server with one mount per input, each fed by an
 * ffmpeg (`-c copy` for H.264, x264 otherwise). Rejects with a coded error when an input cannot be
 * read or the server cannot start; nothing is left running then.
 */
export async function startConverter(o: ConvertOptions): Promise<RunningConverter> {
  const server = new RtspServer({
    host: o.host,
    port: o.port,
    logger: o.logger,
    ...(o.pythonPath ? { pythonPath: o.pythonPath } : {}),
  });
  const feeds: RtspFeed[] = [];
  const stop = async () => {
    await Promise.all(feeds.map((f) => f.stop()));
    await server.stop();
  };
  try {
    await server.start();
    for (const s of o.streams) {
      const udpPort = await freeUdpPort();
      await server.addMount(s.name, udpPort);
      const feed = new RtspFeed({
        name: s.name,
        input: s.input,
        udpPort,
        loop: o.loop,
        video: o.video,
        rtspTransport: o.rtspTransport,
        ffmpegPath: o.ffmpegPath,
        retry: 'after-first-start',
        logger: o.logger,
      });
      feeds.push(feed);
    }
    await Promise.all(feeds.map((f) => f.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server,
    feeds,
    urls: o.streams.map((s) => server.url(s.name)),
    ended: Promise.all(feeds.map((f) => f.ended())).then(() => {}),
    stop,
  };
}

/**
 * `iceberg convert --input INPUT --name NAME [--port 8554] [--host 0.0.0.0|127.0.0.1] [--loop]`:
 * serves any ffmpeg input (a file, a V4L2 capture card, another stream) as an RTSP camera at
 * rtsp://HOST:PORT/NAME, over TCP and UDP, until SIGINT/SIGTERM (or the end of a file played once).
 * Several `--input`/`--name` pairs serve several cameras from one server.
 */
export async function convertCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string', short: 'i', multiple: true },
      name: { type: 'string', short: 'n', multiple: true },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      loop: { type: 'boolean' },
      video: { type: 'string' },
      'rtsp-transport': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const inputs = values.input ?? [];
  const names = values.name ?? [];
  if (inputs.length === 0)
    throw new UsageError('convert needs --input INPUT (a file, /dev/videoN, rtsp://…)');
  if (names.length !== inputs.length)
    throw new UsageError(
      `convert needs one --name per --input (got ${inputs.length} inputs, ${names.length} names)`,
    );
  for (const name of names)
    if (!MOUNT_NAME.test(name))
      throw new UsageError(
        `--name "${name}": use letters, digits, ".", "_" and "-" (it becomes rtsp://HOST:PORT/${name})`,
      );
  if (new Set(names).size !== names.length) throw new UsageError('every --name must be different');
  for (const input of inputs) classifyInput(input); // ICEBERG_ERR_INPUT_INVALID for an unusable input string
  const port = values.port === undefined ? 8554 : Number(values.port);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port takes a port number, not "${values.port}"`);
  const host = values.host ?? '0.0.0.0';
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new UsageError(`--host takes an address, not "${host}"`);
  const video = values.video ?? 'auto';
  if (video !== 'auto' && video !== 'copy' && video !== 'encode')
    throw new UsageError(`--video is auto, copy or encode, not "${video}"`);
  const transport = values['rtsp-transport'] ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'udp')
    throw new UsageError(`--rtsp-transport is tcp or udp, not "${transport}"`);
  // FFMPEG_PATH and ICEBERG_LOG_LEVEL as for every command; quiet by default: the URL is what matters.
  const config = loadConfig({
    env: process.env,
    overrides: {
      log: { level: values['log-level'] ?? (process.env.ICEBERG_LOG_LEVEL ? undefined : 'warn') },
    },
  });
  const logger = createLogger({ level: config.log.level });
  const converter = await startConverter({
    streams: inputs.map((input, i) => ({ input, name: names[i]! })),
    host,
    port,
    loop: values.loop ?? false,
    video,
    rtspTransport: transport,
    ffmpegPath: config.ffmpegPath,
    logger,
  });
  const everywhere = host === '0.0.0.0' || host === '::';
  for (const [i, url] of converter.urls.entries()) {
    const feed = converter.feeds[i]!;
    process.stdout.write(
      `serving ${url}  (${redactUrl(inputs[i]!)}, ${feed.status.mode === 'copy' ? 'H.264 copied' : 'encoded to H.264'}${values.loop ? ', looped' : ''})\n`,
    );
  }
  process.stdout.write(
    `${everywhere ? 'listening on every address (use this machine’s address from elsewhere); ' : ''}RTSP over TCP and UDP. Stop with Ctrl-C.\n`,
  );
  const why = await Promise.race([waitForSignal().then(() => 'signal'), converter.ended.then(() => 'ended')]);
  process.stdout.write(why === 'ended' ? 'the input has ended; stopping\n' : 'stopping…\n');
  await converter.stop();
  return 0;
}
