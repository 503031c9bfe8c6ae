import { type Clock, systemClock } from '@iceberg/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { OutboxBacklog } from './ingest/outbox-backlog.ts';

/** The server's Prometheus metrics, on their own registry (served at `/metrics`). */
export function createMetrics(clock: Clock = systemClock) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'iceberg_' });
  return {
    registry,
    messagesConsumed: new Counter({
      name: 'iceberg_bus_messages_consumed_total',
      help: 'Bus messages processed, by topic',
      labelNames: ['topic'],
      registers: [registry],
    }),
    messagesInvalid: new Counter({
      name: 'iceberg_bus_messages_invalid_total',
      help: 'Malformed bus messages parked as dead letters, by topic',
      labelNames: ['topic'],
      registers: [registry],
    }),
    deadLetters: new Gauge({
      name: 'iceberg_dead_letters',
      help: 'Dead letters stored and not replayed',
      registers: [registry],
    }),
    alertsRaised: new Counter({
      name: 'iceberg_alerts_raised_total',
      help: 'Alerts created',
      labelNames: ['reason'],
      registers: [registry],
    }),
    alertLatency: new Histogram({
      name: 'iceberg_alert_latency_seconds',
      help: 'From frame capture to the alert pushed to clients',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    actionDeliveries: new Counter({
      name: 'iceberg_action_deliveries_total',
      help: 'Action delivery attempts',
      labelNames: ['type', 'ok'],
      registers: [registry],
    }),
    liveClients: new Gauge({
      name: 'iceberg_live_clients',
      help: 'Connected WebSocket clients',
      registers: [registry],
    }),
    /** The devices' store-and-forward backlog, from their heartbeats (summed: no tenant ids here). */
    outboxBacklog: new OutboxBacklog(registry, clock),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
