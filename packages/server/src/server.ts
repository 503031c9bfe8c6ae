import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActionDispatcher, type Notifier, SmtpNotifier, WebhookNotifier } from '@iceberg/actions';
import type { Bus } from '@iceberg/bus';
import { type Clock, type Logger, systemClock } from '@iceberg/common';
import type { IcebergConfig } from '@iceberg/config';
import { createStore, type Database, openDatabase, type Store } from '@iceberg/store';
import type { FastifyInstance } from 'fastify';
import { AlertService } from './alerts/alert-service.ts';
import { RuleEvaluator } from './alerts/rule-evaluator.ts';
import type { ApiDeps } from './api-deps.ts';
import { bootstrap } from './bootstrap.ts';
import { buildApi } from './http/api.ts';
import { Ingest } from './ingest/ingest.ts';
import { WsHub } from './live/ws-hub.ts';
import { createMetrics, type Metrics } from './metrics.ts';

export interface RunningServer {
  url: string;
  alerts: AlertService;
  api: FastifyInstance;
  store: Store;
  metrics: Metrics;
  hub: WsHub;
  rules: RuleEvaluator;
  /** The organisation and admin created on first start (password only when it was generated or given now). */
  admin: { created: boolean; orgId: string; email: string; password: string | null };
  close(): Promise<void>;
}

/**
 * The analytics server's composition root: database (PostgreSQL when configured, else PGlite
 * in `<dataDir>/db`), first organisation and admin, consumers, rules, alerts and actions, and
 * the HTTP/WebSocket API.
 */
export async function startServer(
  config: IcebergConfig,
  deps: { bus: Bus; logger: Logger; clock?: Clock },
): Promise<RunningServer> {
  const { bus, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const server = config.server;
  const database: Database = await openDatabase(
    server.databaseUrl ? { url: server.databaseUrl } : { dataDir: join(config.dataDir, 'db') },
  );
  const store = createStore(database.db);
  const admin = await bootstrap(store, server, { now: clock.now(), logger });
  const hub = new WsHub();
  const metrics = createMetrics();
  const notifiers: Notifier[] = [new WebhookNotifier()];
  const smtp = server.smtp ? new SmtpNotifier({ ...server.smtp }) : null;
  if (smtp) notifiers.push(smtp);
  const dispatcher = new ActionDispatcher({
    notifiers,
    logger,
    clock,
    record: async (attempt) => {
      await store.actionOutcomes.record(attempt);
    },
  });
  const alerts = new AlertService({
    store,
    hub,
    metrics,
    dispatcher,
    clock,
    logger,
    dataDir: config.dataDir,
    publicUrl: server.publicUrl,
  });
  const rules = new RuleEvaluator({ bus, store, alerts, clock, logger });
  const ingest = new Ingest({
    bus,
    store,
    hub,
    metrics,
    logger,
    detectionSampleSeconds: server.detectionSampleSeconds,
  });
  await ingest.start();
  await rules.start();
  const apiDeps: ApiDeps = {
    store,
    hub,
    metrics,
    config: server,
    dataDir: config.dataDir,
    clock,
    logger,
    onRulesChanged: (orgId) => rules.invalidate(orgId),
    webRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)),
  };
  const api = await buildApi(apiDeps);
  const address = await api.listen({ host: server.host, port: server.port });
  logger.info({ url: address, database: database.kind }, 'server listening');
  return {
    url: address.replace('[::1]', 'localhost'),
    alerts,
    api,
    store,
    metrics,
    hub,
    rules,
    admin,
    close: async () => {
      await api.close();
      hub.close();
      await rules.stop();
      await ingest.stop();
      await dispatcher.close();
      smtp?.close();
      await database.close();
    },
  };
}
