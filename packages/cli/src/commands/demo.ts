import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IcebergError } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import { repoRoot } from '../repo-root.ts';
import { UsageError } from '../usage-error.ts';
import { startAllInOne, waitForSignal } from './all-in-one.ts';

/**
 * The all-in-one demo: a simulated camera looping the sample footage, the edge pipeline, the
 * server on the in-process bus and the embedded database, a default rule, the API on
 * 127.0.0.1:8080. Prints the URL and the login.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' } } });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port takes a port number, not "${values.port}"`);
  const root = repoRoot();
  const sample = join(root, 'assets/samples/vtest.mp4');
  if (!existsSync(sample))
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      `the sample footage ${sample} is missing: run "bash scripts/setup.sh"`,
    );
  const config = loadConfig({
    env: process.env,
    baseDir: root,
    overrides: {
      dataDir: process.env.ICEBERG_DATA_DIR ?? join(root, 'data/demo'),
      log: { level: process.env.ICEBERG_LOG_LEVEL ?? 'warn' },
      server: { ...(port !== undefined ? { port } : {}), admin: { org: 'Demo' } },
      cameras: [
        { id: 'demo', name: 'Sample footage (OpenCV vtest)', input: sample, loop: true, realtime: true },
      ],
    },
  });
  const app = await startAllInOne(config, { withDemoRule: true });
  const { admin, url } = app.server;
  process.stdout.write(
    [
      'Iceberg all-in-one demo',
      `  API:       ${url}/api   (OpenAPI: ${url}/api/openapi.json, live: ${url.replace(/^http/, 'ws')}/api/ws)`,
      `  log in:    ${admin.email}  ${admin.password ? `password: ${admin.password}` : '(password as set on first start, or ICEBERG_ADMIN_PASSWORD)'}`,
      `  camera:    demo — ${sample}, looped at its own rate, detection at 2 fps`,
      '  rule:      "Person on the path" (a person entering the middle of the scene)',
      `  data:      ${config.dataDir}`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  await waitForSignal();
  process.stdout.write('stopping…\n');
  await app.stop();
  return 0;
}
