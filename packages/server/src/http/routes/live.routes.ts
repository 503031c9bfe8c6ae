import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import { hashToken } from '@iceberg/store';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import type { LiveChannel } from '../../live/ws-hub.ts';
import { authenticate, bearerToken, callerOf } from '../authenticate.ts';
import { ErrorBody } from '../query-schemas.ts';
import { websocketOnly } from '../websocket-only.ts';

/** The channels a client may ask for. */
export const liveTopics = ['alerts', 'detections', 'status'] as const satisfies readonly LiveChannel[];

/** `?topics=alerts,detections`: a comma-separated list of known channels, alerts by default. */
const Topics = z
  .string()
  .max(200)
  .transform((s) => [...new Set(s.split(',').map((t) => t.trim()))])
  .pipe(z.array(z.enum(liveTopics)).min(1))
  .meta({
    description: 'Comma-separated channels: alerts (default), detections, status',
    examples: ['alerts', 'alerts,detections,status'],
  });

const LiveQuery = z.object({
  token: z.string().max(512).optional().meta({
    description: 'The bearer token (browsers cannot set headers on a WebSocket); or send Authorization',
  }),
  topics: Topics.optional(),
});

/** Clients only listen; anything they send is ignored, and large frames close the connection. */
export const MAX_CLIENT_FRAME_BYTES = 4096;

/** How often an open socket's session is checked; the close code sent when it has ended. */
const SESSION_CHECK_MS = 30_000;
export const SESSION_ENDED_CODE = 4001;

/** An upgrade socket that did not become a WebSocket is closed after this long without traffic. */
const UPGRADE_IDLE_MS = 10_000;

/**
 * `GET /api/ws`: the live push of the caller's organisation. The upgrade is authenticated
 * first (a bad or missing token is refused with 401 before any WebSocket exists), then the
 * socket joins the hub on the channels asked for; the server sends `{ "type", "data" }` JSON
 * text frames (see `WsHub`).
 */
export async function registerLiveRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  await app.register(async (scope) => {
    // buildApi registers the plugin once for all WebSocket routes; alone (tests), register it here.
    if (!scope.hasDecorator('websocketServer'))
      await scope.register(websocket, { options: { maxPayload: MAX_CLIENT_FRAME_BYTES } });
    // An upgrade request to any other route is answered like a plain request, but Node hands the
    // socket over and no HTTP timeout applies to it any more: close it when it idles. `ws` clears
    // the timeout on the sockets it accepts (ours), so live clients are not affected.
    const idleUpgrade = (_req: IncomingMessage, socket: Duplex) => {
      if (socket instanceof Socket) socket.setTimeout(UPGRADE_IDLE_MS, () => socket.destroy());
    };
    scope.server.on('upgrade', idleUpgrade);
    scope.addHook('onClose', async () => {
      scope.server.off('upgrade', idleUpgrade);
    });
    scope.withTypeProvider<ZodTypeProvider>().route({
      method: 'GET',
      url: '/api/ws',
      // Authenticate before the query is checked: without a valid token the answer is 401.
      preValidation: authenticate(deps),
      schema: {
        summary: 'Live push (WebSocket)',
        description:
          'Upgrade to a WebSocket with `?token=<bearer token>` (or an Authorization header) and `?topics=alerts,detections,status` (default alerts). The server sends JSON text frames `{ "type": "alert" | "alert-updated" | "detection" | "camera-status" | "device-status", "data": … }` of your organisation only. A plain GET answers 426.',
        tags: ['live'],
        security: [{ bearer: [] }],
        querystring: LiveQuery,
        response: { 400: ErrorBody, 401: ErrorBody, 426: ErrorBody },
      },
      handler: websocketOnly,
      wsHandler: (socket, req) => {
        const caller = callerOf(req);
        deps.hub.add(socket, caller.orgId, req.query.topics ?? ['alerts']);
        deps.metrics.liveClients.set(deps.hub.size);
        // A socket lives no longer than its session: after log-out or expiry it is closed
        // (code 4001) at the next check, so a revoked token stops receiving the organisation's events.
        const tokenHash = hashToken(bearerToken(req) ?? '');
        const check = setInterval(() => {
          deps.store.sessions
            .findValidByHash(tokenHash, deps.clock.now())
            .then((session) => {
              if (!session) socket.close(SESSION_ENDED_CODE, 'session ended: log in again');
            })
            .catch(() => undefined);
        }, deps.liveSessionCheckMs ?? SESSION_CHECK_MS);
        check.unref();
        socket.on('close', () => {
          clearInterval(check);
          deps.metrics.liveClients.set(deps.hub.size);
        });
        socket.on('message', () => undefined);
      },
    });
  });
}
