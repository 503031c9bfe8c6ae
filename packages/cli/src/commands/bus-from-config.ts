import { join } from 'node:path';
import { Bus, KafkaBus, MemoryBus } from '@iceberg/bus';
import type { Logger } from '@iceberg/common';
import type { IcebergConfig } from '@iceberg/config';
import { topics } from '@iceberg/contracts';
import { type OutboxStats, OutboxTransport } from '@iceberg/edge';

export interface ConfiguredBus {
  bus: Bus;
  kafka: KafkaBus | null;
  /** The device's store-and-forward outbox (edge on Kafka with `bus.outbox.enabled`). */
  outbox: OutboxTransport | null;
  /** Resolves once the consumers made so far have their partitions (immediate on the in-process bus). */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * The bus the configuration asks for: the in-process bus, or Kafka (the optional client is
 * loaded only now; missing, it is a clear ICEBERG_ERR_BUS_UNAVAILABLE). An edge device puts
 * its durable outbox in front of Kafka.
 */
export function busFromConfig(config: IcebergConfig, role: 'edge' | 'server', logger: Logger): ConfiguredBus {
  if (config.bus.type === 'memory' || !config.bus.kafka) {
    return {
      bus: new Bus(new MemoryBus(), { logger }),
      kafka: null,
      outbox: null,
      ready: async () => undefined,
    };
  }
  const k = config.bus.kafka;
  const kafka = new KafkaBus({
    brokers: k.brokers,
    clientId: k.clientId ?? `iceberg-${role}-${config.device.id}`,
    sasl: k.sasl,
    tls: k.tls,
    settings: k.settings,
    logger,
  });
  let outbox: OutboxTransport | null = null;
  if (role === 'edge' && config.bus.outbox.enabled) {
    outbox = new OutboxTransport(kafka, {
      dir: config.bus.outbox.path ?? join(config.dataDir, 'outbox'),
      maxBytes: config.bus.outbox.maxBytes,
      shedOrder: [k.topicPrefix + topics.detections.name, k.topicPrefix + topics.deviceStatus.name],
      logger,
    });
  }
  const bus = new Bus(outbox ?? kafka, { topicPrefix: k.topicPrefix, logger });
  logger.info(
    {
      brokers: k.brokers,
      topicPrefix: k.topicPrefix,
      outbox: outbox !== null,
      sasl: k.sasl?.mechanism ?? null,
    },
    'bus: Kafka',
  );
  return { bus, kafka, outbox, ready: (timeoutMs) => kafka.ready(timeoutMs) };
}

/** The outbox part of a device heartbeat. */
export function outboxHeartbeat(stats: OutboxStats) {
  return {
    pendingMessages: stats.pendingMessages,
    pendingBytes: stats.pendingBytes,
    oldestPendingAt: stats.oldestPendingAt,
    shed: stats.shed,
  };
}
