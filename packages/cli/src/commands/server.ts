import { parseArgs } from 'node:util';
import { loadConfig } from '@iceberg/config';
import { UsageError } from '../usage-error.ts';
import { startAllInOne, waitForSignal } from './all-in-one.ts';

/** `iceberg server --config FILE`: the analytics server (with the config's cameras, if any, on this box). */
export async function serverCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, port: { type: 'string' } },
  });
  if (positionals.length > 0)
    throw new UsageError(`server takes no positional arguments (got "${positionals[0]}")`);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port takes a port number, not "${values.port}"`);
  const config = loadConfig({
    file: values.config,
    env: process.env,
    overrides: port !== undefined ? { server: { port } } : {},
  });
  const app = await startAllInOne(config);
  const { admin, url } = app.server;
  process.stdout.write(
    `Iceberg server on ${url}/api${admin.created ? ` — first start: log in as ${admin.email}${admin.password ? ` with password ${admin.password}` : ''}` : ''}\n`,
  );
  await waitForSignal();
  await app.stop();
  return 0;
}
