import { Bus, MemoryBus } from '@iceberg/bus';
import { createLogger, IcebergError } from '@iceberg/common';
import type { IcebergConfig } from '@iceberg/config';
import { createEdgeAgent } from '@iceberg/edge';
import { reportToConsole } from './console-reporter.ts';

/** Runs the edge agent until SIGINT/SIGTERM, printing what it sees; resolves with the exit code. */
export async function runEdge(config: IcebergConfig): Promise<number> {
  if (config.bus.type === 'kafka') {
    throw new IcebergError(
      'ICEBERG_ERR_BUS_UNAVAILABLE',
      'the Kafka bus is not available in this version yet: use --bus memory',
    );
  }
  if (config.cameras.filter((c) => c.enabled).length === 0) {
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      'no cameras to run: add cameras to the config file or pass --camera NAME=INPUT',
    );
  }
  const logger = createLogger({ level: config.log.level });
  const bus = new Bus(new MemoryBus(), { logger });
  await reportToConsole(bus);
  const agent = await createEdgeAgent(config, { bus, logger });
  await agent.start();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('stopping…\n');
  await agent.stop();
  await bus.close();
  return 0;
}
