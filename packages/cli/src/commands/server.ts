import { parseArgs } from 'node:util';
import { createLogger } from '@iceberg/common';
import { type IcebergConfig, loadConfig } from '@iceberg/config';
import { startServer } from '@iceberg/server';
import { UsageError } from '../usage-error.ts';
import { startAllInOne, waitForSignal } from './all-in-one.ts';
import { busFromConfig } from './bus-from-config.ts';
import { busOverride } from './edge.ts';

/** `iceberg server --config FILE`: the analytics server (with the config's cameras, if any, on this box). */
export async function serverCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      bus: { type: 'string' },
      'kafka-brokers': { type: 'string' },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`server takes no positional arguments (got "${positionals[0]}")`);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port takes a port number, not "${values.port}"`);
  const config = loadConfig({
    file: values.config,
    env: process.env,
    overrides: {
      ...(port !== undefined ? { server: { port } } : {}),
      ...busOverride(values.bus, values['kafka-brokers']),
    },
  });
  if (config.bus.type === 'kafka') return runKafkaServer(config);
  const app = await startAllInOne(config);
  const { admin, url } = app.server;
  process.stdout.write(
    `Iceberg server on ${url}/api${admin.created ? ` — first start: log in as ${admin.email}${admin.password ? ` with password ${admin.password}` : ''}` : ''}\n`,
  );
  await waitForSignal();
  await app.stop();
  return 0;
}

/**
 * The analytics server on Kafka: its consumer groups share the topics' partitions with the other
 * server instances; devices run `iceberg edge --bus kafka` on their own. Ready (the line on
 * stdout) once its consumers have their partitions.
 */
async function runKafkaServer(config: IcebergConfig): Promise<number> {
  const logger = createLogger({ level: config.log.level });
  const { bus, ready } = busFromConfig(config, 'server', logger);
  const server = await startServer(config, { bus, logger });
  try {
    await ready();
  } catch (err) {
    await server.close();
    await bus.close();
    throw err;
  }
  const { admin, url } = server;
  process.stdout.write(
    `Iceberg server on ${url}/api (Kafka ${config.bus.kafka?.brokers.join(',')})${admin.created ? ` — first start: log in as ${admin.email}${admin.password ? ` with password ${admin.password}` : ''}` : ''}\n`,
  );
  await waitForSignal();
  await server.close();
  await bus.close();
  return 0;
}
