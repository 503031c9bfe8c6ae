import { parseArgs } from 'node:util';
import { createLogger, systemClock } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import { Id } from '@iceberg/contracts';
import { buildApp, NginxRestreamer, registerRestreamRoutes, UrlSigner } from '@iceberg/server';
import { UsageError } from '../usage-error.ts';
import { waitForSignal } from './all-in-one.ts';

/**
 * `iceberg restream [--config FILE] [--port P] [--rtmp-port P] [--stream NAME ...] [--hours H]`:
 * the re-streaming server on its own: Debian's nginx with the RTMP module (RTMP in) and an HTTP
 * server for HLS and the low-latency WebSocket under signed URLs (video out). `iceberg server`
 * and `iceberg demo` run the same inside; this runs it alone, e.g. on a box of its own near the
 * viewers. Each `--stream NAME` opens a stream and prints its publish URL (with its key) and its
 * playback URLs, valid for `--hours` (default 24). See docs/live-view.md.
 */
export async function restreamCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'rtmp-port': { type: 'string' },
      stream: { type: 'string', multiple: true },
      hours: { type: 'string' },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`restream takes no positional arguments (got "${positionals[0]}")`);
  const port = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(Number.isInteger(n) && n >= 0 && n <= 65535))
      throw new UsageError(`${flag} takes a port number, not "${value}"`);
    return n;
  };
  const httpPort = port('--port', values.port);
  const rtmpPort = port('--rtmp-port', values['rtmp-port']);
  const hours = values.hours === undefined ? 24 : Number(values.hours);
  if (!(hours > 0 && hours <= 24 * 365))
    throw new UsageError(`--hours takes a number of hours, not "${values.hours}"`);
  const streams = values.stream ?? [];
  for (const name of streams)
    if (!Id.safeParse(name).success)
      throw new UsageError(`--stream takes a name of letters, digits, . _ - (got "${name}")`);
  const config = loadConfig({
    file: values.config,
    env: process.env,
    overrides: {
      server: {
        ...(httpPort !== undefined && { port: httpPort }),
        ...(rtmpPort !== undefined && { restream: { rtmpPort } }),
      },
    },
  });
  const logger = createLogger({ level: config.log.level });
  const restreamer = new NginxRestreamer({
    config: config.server.restream,
    dataDir: config.dataDir,
    signer: UrlSigner.random(),
    logger,
    ffmpegPath: config.ffmpegPath,
  });
  await restreamer.start();
  let app: Awaited<ReturnType<typeof buildApp>> | null = null;
  try {
    app = await buildApp({ logger }, (scope) =>
      registerRestreamRoutes(scope, { restream: restreamer, clock: systemClock }),
    );
    const address = (await app.listen({ host: config.server.host, port: config.server.port })).replace(
      '[::1]',
      'localhost',
    );
    const rtmp = `rtmp://${config.server.restream.rtmpHost}:${restreamer.rtmpPort}/live`;
    const lines = [
      `Iceberg re-streaming server: RTMP in at ${rtmp}, HLS and low-latency video out at ${address}`,
    ];
    const expiresAt = Date.now() + hours * 3_600_000;
    for (const name of streams) {
      const { publishUrl } = restreamer.openStream({ orgId: 'standalone', cameraId: name, streamId: name });
      const urls = restreamer.playbackUrls(name, expiresAt);
      lines.push(
        `stream ${name}:`,
        `  publish:  ${publishUrl}`,
        `  HLS:      ${address}${urls.hls}`,
        `  WebSocket: ${address.replace(/^http/, 'ws')}${urls.ws}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    await waitForSignal();
  } finally {
    await app?.close();
    await restreamer.close();
  }
  return 0;
}
