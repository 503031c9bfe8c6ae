import { IcebergError } from '@iceberg/common';
import { Id } from '@iceberg/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import {
  type LiveSessionService,
  LiveSessionView,
  StartedLiveSession,
} from '../../live/live-session.service.ts';
import { authenticate, callerOf } from '../authenticate.ts';
import { ErrorBody } from '../query-schemas.ts';

const CameraParams = z.object({ id: Id });
const SessionParams = z.object({ session: Id });
const ViewerId = Id.meta({ description: 'The `viewerId` that starting or joining returned' });

const StartBody = z
  .object({
    annotated: z
      .boolean()
      .default(true)
      .meta({ description: 'Boxes, labels and track ids drawn into the video (default true)' }),
    lowLatency: z.boolean().default(false).meta({
      description: 'The player means to use the low-latency stream (`playback.ws`); HLS stays available',
    }),
  })
  .strict();

const HeartbeatBody = z.object({ viewerId: ViewerId }).strict();
const LeaveQuery = z.object({ viewerId: ViewerId });

/**
 * Live view on demand: start or join a camera's live session, keep watching with heartbeats,
 * leave. Any member of the camera's organisation may watch (viewers too); another organisation's
 * cameras and sessions are not found (404).
 */
export async function registerLiveSessionRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = authenticate(deps);
  const tags = ['live'];
  const security = [{ bearer: [] }];
  const live = (): LiveSessionService => {
    if (!deps.live)
      throw new IcebergError(
        'ICEBERG_ERR_RESTREAM_UNAVAILABLE',
        'live view is not available on this server (the re-streaming server is off)',
      );
    return deps.live;
  };

  r.post(
    '/api/cameras/:id/live',
    {
      onRequest: auth,
      schema: {
        summary: 'Watch a camera live: start its live session or join the running one',
        description:
          "Returns the session (state `starting` until the first frame arrives, then `live`; `failed` with a reason such as `device_offline` or `device_unreachable`), the caller's `viewerId` and signed, expiring playback URLs (`playback.hls`, `playback.ws`). Send `POST /api/live/{session}/heartbeat` every few seconds; a viewer silent for `server.live.viewerIdleSeconds` has left, and when no viewer is left the stream stops. 201 when this call started the session, 200 when it joined.",
        tags,
        security,
        params: CameraParams,
        body: StartBody,
        response: {
          200: StartedLiveSession,
          201: StartedLiveSession,
          400: ErrorBody,
          401: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const caller = callerOf(req);
      const started = await live().start(caller, req.params.id, { annotated: req.body.annotated });
      return reply.code(started.created ? 201 : 200).send(started);
    },
  );

  r.get(
    '/api/live/:session',
    {
      onRequest: auth,
      schema: {
        summary: 'A live session: its state, its command to the device and why it failed',
        tags,
        security,
        params: SessionParams,
        response: { 200: LiveSessionView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => live().get(callerOf(req).orgId, req.params.session),
  );

  r.post(
    '/api/live/:session/heartbeat',
    {
      onRequest: auth,
      schema: {
        summary: 'Still watching: keeps the viewer (and the stream) alive; returns fresh playback URLs',
        tags,
        security,
        params: SessionParams,
        body: HeartbeatBody,
        response: { 200: LiveSessionView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => live().heartbeat(callerOf(req).orgId, req.params.session, req.body.viewerId),
  );

  r.delete(
    '/api/live/:session',
    {
      onRequest: auth,
      schema: {
        summary: 'Stop watching; when the last viewer leaves the stream stops',
        tags,
        security,
        params: SessionParams,
        querystring: LeaveQuery,
        response: {
          204: z.null().describe('Left'),
          400: ErrorBody,
          401: ErrorBody,
          404: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      live().leave(callerOf(req).orgId, req.params.session, req.query.viewerId);
      return reply.code(204).send(null);
    },
  );
}
