import { Bus, MemoryBus } from '@iceberg/bus';
import { createLogger, type Logger } from '@iceberg/common';
import type { CameraConfig, IcebergConfig } from '@iceberg/config';
import { createEdgeAgent, type EdgeAgent } from '@iceberg/edge';
import type { RuleSpecInput } from '@iceberg/rules';
import { type RunningServer, startServer } from '@iceberg/server';

/** The rule a new demo starts with: a person entering the middle of the scene. */
export const demoRule: RuleSpecInput = {
  name: 'Person on the path',
  cameras: ['demo'],
  classes: ['person'],
  minScore: 0.5,
  trigger: {
    type: 'zone',
    polygon: [
      [0.3, 0.45],
      [0.7, 0.45],
      [0.7, 0.95],
      [0.3, 0.95],
    ],
    on: 'enter',
  },
  cooldownSeconds: 30,
};

export interface AllInOne {
  server: RunningServer;
  agent: EdgeAgent | null;
  bus: Bus;
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * Server and edge in one process on the in-process bus: the standalone box. Cameras of the
 * configuration are registered in the first organisation; the edge publishes as that organisation.
 */
export async function startAllInOne(
  config: IcebergConfig,
  options: { withDemoRule?: boolean } = {},
): Promise<AllInOne> {
  const logger = createLogger({ level: config.log.level });
  const bus = new Bus(new MemoryBus(), { logger });
  const server = await startServer(config, { bus, logger });
  const orgId = server.admin.orgId;
  const cameras: CameraConfig[] = config.cameras.filter((c) => c.enabled);
  for (const camera of cameras) {
    if (!(await server.store.cameras.get(orgId, camera.id))) {
      await server.store.cameras.create({
        orgId,
        id: camera.id,
        deviceId: config.device.id,
        name: camera.name ?? camera.id,
        input: camera.input,
      });
    }
  }
  if (options.withDemoRule && (await server.store.rules.list(orgId, {}, { limit: 1 })).items.length === 0) {
    await server.store.rules.create({
      orgId,
      name: demoRule.name,
      enabled: true,
      cameraIds: demoRule.cameras,
      spec: demoRule,
    });
  }
  let agent: EdgeAgent | null = null;
  if (cameras.length > 0) {
    agent = await createEdgeAgent({ ...config, org: orgId }, { bus, logger });
    await agent.start();
  }
  return {
    server,
    agent,
    bus,
    logger,
    stop: async () => {
      await agent?.stop();
      await server.close();
      await bus.close();
    },
  };
}

export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
