import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-deps.ts';
import { buildApp } from './app.ts';
import { registerAlertRoutes } from './routes/alerts.routes.ts';
import { registerAuthRoutes } from './routes/auth.routes.ts';
import { registerCameraProbeRoutes } from './routes/camera-probe.routes.ts';
import { registerCameraRoutes } from './routes/cameras.routes.ts';
import { registerDeadLetterRoutes } from './routes/dead-letters.routes.ts';
import { registerDeviceRoutes } from './routes/devices.routes.ts';
import { registerEventRoutes } from './routes/events.routes.ts';
import { MAX_CLIENT_FRAME_BYTES, registerLiveRoutes } from './routes/live.routes.ts';
import { registerLiveSessionRoutes } from './routes/live-sessions.routes.ts';
import { registerMetricsRoutes } from './routes/metrics.routes.ts';
import { registerRecordingRoutes } from './routes/recordings.routes.ts';
import { registerRestreamRoutes } from './routes/restream.routes.ts';
import { registerRuleRoutes } from './routes/rules.routes.ts';
import { registerSiteRoutes } from './routes/sites.routes.ts';
import { registerWebRoutes } from './routes/web.routes.ts';

/** The whole HTTP API of the server: every route module, registered on one app. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  return buildApp({ logger: deps.logger }, async (app) => {
    // One WebSocket plugin for every route that upgrades (/api/ws, /live/ws/…): two would both answer an upgrade.
    await app.register(websocket, { options: { maxPayload: MAX_CLIENT_FRAME_BYTES } });
    await registerAuthRoutes(app, deps);
    await registerCameraProbeRoutes(app, deps);
    await registerCameraRoutes(app, deps);
    await registerSiteRoutes(app, deps);
    await registerDeviceRoutes(app, deps);
    await registerRuleRoutes(app, deps);
    await registerEventRoutes(app, deps);
    await registerAlertRoutes(app, deps);
    await registerDeadLetterRoutes(app, deps);
    await registerLiveRoutes(app, deps);
    await registerLiveSessionRoutes(app, deps);
    await registerRestreamRoutes(app, deps);
    await registerRecordingRoutes(app, deps);
    await registerMetricsRoutes(app, deps);
    await registerWebRoutes(app, deps.webRoot);
  });
}
