import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, errorMessage, IcebergError } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import { repoRoot } from '../repo-root.ts';
import { UsageError } from '../usage-error.ts';
import { startAllInOne, waitForSignal } from './all-in-one.ts';
import { startConverter } from './convert.ts';

/**
 * The all-in-one demo: a simulated camera looping the sample footage, the edge pipeline, the
 * server on the in-process bus and the embedded database, a default rule, the API on
 * 127.0.0.1:8080. Prints the URL and the login.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, file: { type: 'boolean' }, rtsp: { type: 'boolean' } },
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port takes a port number, not "${values.port}"`);
  if (values.file && values.rtsp) throw new UsageError('--file and --rtsp exclude each other');
  const root = repoRoot();
  const sample = join(root, 'assets/samples/vtest.mp4');
  if (!existsSync(sample))
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      `the sample footage ${sample} is missing: run "bash scripts/setup.sh"`,
    );
  const logLevel = process.env.ICEBERG_LOG_LEVEL ?? 'warn';
  const logger = createLogger({ level: logLevel as 'warn' });
  // By default the sample goes through the converter (GStreamer's RTSP server) and the camera
  // reads rtsp://127.0.0.1:8554/demo, as a real IP camera is read. When the converter cannot
  // start (GStreamer missing, port taken) the demo says why and reads the file instead, unless
  // --rtsp insists on RTSP; --file skips the converter.
  let converter: Awaited<ReturnType<typeof startConverter>> | null = null;
  let converterProblem: string | null = null;
  if (!values.file) {
    try {
      converter = await startConverter({
        streams: [{ input: sample, name: 'demo' }],
        host: '127.0.0.1',
        port: 8554,
        loop: true,
        video: 'auto',
        rtspTransport: 'tcp',
        ffmpegPath: process.env.FFMPEG_PATH ?? 'ffmpeg',
        logger,
      });
    } catch (err) {
      if (values.rtsp) throw err;
      converterProblem = errorMessage(err);
    }
  }
  const cameraInput = converter ? 'rtsp://127.0.0.1:8554/demo' : sample;
  const config = loadConfig({
    env: process.env,
    baseDir: root,
    overrides: {
      dataDir: process.env.ICEBERG_DATA_DIR ?? join(root, 'data/demo'),
      log: { level: logLevel },
      // The box's own device publishes live view to its own re-streaming server: any free port.
      server: { ...(port !== undefined ? { port } : {}), admin: { org: 'Demo' }, restream: { rtmpPort: 0 } },
      cameras: [
        converter
          ? { id: 'demo', name: 'Sample footage (OpenCV vtest) over RTSP', input: cameraInput }
          : { id: 'demo', name: 'Sample footage (OpenCV vtest)', input: sample, loop: true, realtime: true },
      ],
    },
  });
  let app: Awaited<ReturnType<typeof startAllInOne>>;
  try {
    app = await startAllInOne(config, { withDemoRule: true });
  } catch (err) {
    await converter?.stop();
    throw err;
  }
  const { admin, url } = app.server;
  process.stdout.write(
    [
      'Iceberg all-in-one demo',
      `  API:       ${url}/api   (OpenAPI: ${url}/api/openapi.json, live: ${url.replace(/^http/, 'ws')}/api/ws)`,
      `  log in:    ${admin.email}  ${admin.password ? `password: ${admin.password}` : '(password as set on first start, or ICEBERG_ADMIN_PASSWORD)'}`,
      converter
        ? `  camera:    demo — ${cameraInput} (iceberg convert of ${sample}, looped), detection at 2 fps`
        : `  camera:    demo — ${sample}, looped at its own rate, detection at 2 fps${converterProblem ? `\n             (the RTSP converter could not start: ${converterProblem})` : ''}`,
      '  rule:      "Person on the path" (a person entering the middle of the scene)',
      `  data:      ${config.dataDir}`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  await waitForSignal();
  process.stdout.write('stopping…\n');
  await app.stop();
  await converter?.stop();
  return 0;
}
