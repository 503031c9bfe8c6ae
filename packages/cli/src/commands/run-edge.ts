import { createLogger, IcebergError } from '@iceberg/common';
import type { IcebergConfig } from '@iceberg/config';
import { createEdgeAgent } from '@iceberg/edge';
import { busFromConfig, outboxHeartbeat } from './bus-from-config.ts';
import { reportToConsole, statusLine, trackLine } from './console-reporter.ts';

/** Runs the edge agent until SIGINT/SIGTERM, printing what it sees; resolves with the exit code. */
export async function runEdge(config: IcebergConfig): Promise<number> {
  if (config.cameras.filter((c) => c.enabled).length === 0) {
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      'no cameras to run: add cameras to the config file or pass --camera NAME=INPUT',
    );
  }
  const logger = createLogger({ level: config.log.level });
  const { bus, outbox } = busFromConfig(config, 'edge', logger);
  // On Kafka the console shows what this device sees (not a consumer group of the whole fleet).
  if (config.bus.type === 'memory') await reportToConsole(bus);
  const agent = await createEdgeAgent(config, {
    bus,
    logger,
    outboxStats: outbox ? () => outboxHeartbeat(outbox.stats()) : undefined,
  });
  if (config.bus.type !== 'memory') {
    const write = (line: string) => process.stdout.write(`${line}\n`);
    agent.on('cameraStatus', (s) => write(statusLine(s)));
    agent.on('analysed', (_camera, result) => {
      for (const e of result.events) {
        const line = trackLine(e);
        if (line) write(line);
      }
    });
  }
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
