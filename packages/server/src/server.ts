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
import { UrlSigner } from './auth/url-signer.ts';
import { bootstrap } from './bootstrap.ts';
import { buildApi } from './http/api.ts';
import { Ingest } from './ingest/ingest.ts';
import { RecordingIngest } from './ingest/recording-ingest.ts';
import { devicePresenceFromStore } from './live/device-presence.ts';
import { LiveSessionService } from './live/live-session.service.ts';
import { Messenger } from './live/messenger.ts';
import { startRestreamer } from './live/nginx-restreamer.ts';
import type { Restreamer } from './live/restreamer.ts';
import { WsHub } from './live/ws-hub.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { FootageProtector } from './recordings/footage-protector.ts';
import { CompositeSegmentReader, HttpSegmentReader } from './recordings/http-segment-reader.ts';
import { LocalSegmentReader } from './recordings/segment-reader.ts';
import { RecordingService } from './services/recording.service.ts';

export interface RunningServer {
  url: string;
  alerts: AlertService;
  api: FastifyInstance;
  store: Store;
  /** Where snapshots and (in the all-in-one box) recordings are read from. */
  dataDir: string;
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
  deps: { bus: Bus; logger: Logger; clock?: Clock; restreamer?: Restreamer },
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
  const metrics = createMetrics(clock);
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
  // An alert's footage is kept longer on the device that records it (ProtectRecording).
  const footage = new FootageProtector({ bus, clock, logger });
  const alerts = new AlertService({
    store,
    hub,
    metrics,
    dispatcher,
    clock,
    logger,
    dataDir: config.dataDir,
    publicUrl: server.publicUrl,
    footage,
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
  // Recordings: the segment index from the devices; media links signed with the shared key.
  const recordingIngest = new RecordingIngest({ bus, store, hub, metrics, logger, clock });
  await recordingIngest.start();
  const mediaSigner = new UrlSigner(await store.secrets.getOrCreate('media-url-key'));
  // Segments on this server's disk (all-in-one) are read directly, the others fetched from their device.
  const deviceMedia = new HttpSegmentReader({
    devices: store.devices,
    tokens: server.deviceMedia.tokens,
    timeoutMs: server.deviceMedia.timeoutSeconds * 1000,
    logger,
    clock,
  });
  const recordings = new RecordingService({
    store,
    reader: new CompositeSegmentReader(new LocalSegmentReader(config.dataDir), deviceMedia),
    signer: mediaSigner,
    clock,
    logger,
    ffmpegPath: config.ffmpegPath,
  });
  await rules.start();
  // Live view: the messenger commands devices; sessions need a re-streaming server to publish to.
  const messenger = new Messenger({
    bus,
    config: server.live,
    presence: devicePresenceFromStore(store, server.live.deviceOfflineSeconds, clock),
    clock,
    logger,
  });
  await messenger.start();
  // The re-streaming server (nginx + RTMP); without nginx live view answers 503 and the rest runs.
  // Live links are signed with the same shared key as recording links (each names its resource,
  // so one kind never opens the other).
  const nginx = deps.restreamer
    ? undefined
    : await startRestreamer({
        config: server.restream,
        dataDir: config.dataDir,
        signer: mediaSigner,
        logger,
        ffmpegPath: config.ffmpegPath,
        clock,
      });
  const restreamer = deps.restreamer ?? nginx;
  const live = restreamer
    ? new LiveSessionService({ store, messenger, restreamer, config: server.live, push: hub, clock, logger })
    : undefined;
  const apiDeps: ApiDeps = {
    store,
    hub,
    metrics,
    config: server,
    dataDir: config.dataDir,
    clock,
    logger,
    onRulesChanged: (orgId) => rules.invalidate(orgId),
    ...(live && { live }),
    ...(nginx && { restream: nginx }),
    mediaSigner,
    recordings,
    ffmpegPath: config.ffmpegPath,
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
    dataDir: config.dataDir,
    metrics,
    hub,
    rules,
    admin,
    close: async () => {
      await api.close();
      await live?.close();
      await nginx?.close();
      await messenger.stop();
      hub.close();
      await rules.stop();
      footage.close();
      await recordingIngest.stop();
      deviceMedia.close();
      await ingest.stop();
      await dispatcher.close();
      smtp?.close();
      await database.close();
    },
  };
}
