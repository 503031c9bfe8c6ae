import { ObjectClassSchema } from '@iceberg/contracts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { EventService } from '../../services/event.service.ts';
import { type SnapshotFile, SnapshotFiles } from '../../snapshot-files.ts';
import { authenticate, callerOf } from '../authenticate.ts';
import {
  BooleanParam,
  errorResponses,
  IdParam,
  Instant,
  pageOf,
  pageQuery,
  rangeError,
  rangeInOrder,
} from '../query-schemas.ts';

const NormalisedBox = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .meta({ description: 'Normalised [x, y, width, height], each 0..1 of the frame' });

export const EventItem = z
  .object({
    trackId: z.string(),
    cameraId: z.string(),
    deviceId: z.string(),
    class: z.string().meta({ description: 'COCO class name, e.g. person, car' }),
    score: z.number(),
    firstSeenAt: z.number().int(),
    lastSeenAt: z.number().int(),
    endedAt: z.number().int().nullable().meta({ description: 'null while the object is still tracked' }),
    durationMs: z
      .number()
      .int()
      .meta({ description: 'How long the object was seen: lastSeenAt − firstSeenAt' }),
    stationary: z.boolean(),
    box: NormalisedBox,
    hits: z.number().int().nullable(),
    snapshotUrl: z.string().nullable(),
  })
  .meta({ description: 'An event: one tracked object (a person, a car) on one camera' });

const EventQuery = z
  .object({
    cameraId: IdParam.optional(),
    class: ObjectClassSchema.optional(),
    from: Instant.optional().meta({
      description: 'Events seen at or after this instant: epoch ms or ISO 8601 (2026-11-25T10:00:00Z)',
    }),
    to: Instant.optional().meta({
      description: 'Events seen at or before this instant: epoch ms or ISO 8601 (2026-11-25T10:00:00Z)',
    }),
    active: BooleanParam.optional().meta({ description: 'true: still tracked; false: ended' }),
    ...pageQuery,
  })
  .strict()
  .refine(rangeInOrder, rangeError);

const EventParams = z.object({ cameraId: IdParam, trackId: IdParam });

/** The picture responses of the snapshot routes. */
export const jpegResponse = {
  description: 'The JPEG picture',
  content: { 'image/jpeg': { schema: z.string().meta({ format: 'binary' }) } },
};

/** Sends a snapshot: private (it shows someone's premises), cacheable by the browser for a while. */
export function sendSnapshot(reply: FastifyReply, file: SnapshotFile): FastifyReply {
  return reply
    .header('content-type', file.contentType)
    .header('cache-control', 'private, max-age=3600')
    .header('last-modified', new Date(file.modifiedAt).toUTCString())
    .header('x-content-type-options', 'nosniff')
    .send(file.bytes);
}

/** Events (tracked objects) of the caller's organisation, and their snapshots. */
export async function registerEventRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const events = new EventService(deps.store, new SnapshotFiles(deps.dataDir));
  const r = app.withTypeProvider<ZodTypeProvider>();
  const preHandler = authenticate(deps);
  const common = { tags: ['events'], security: [{ bearer: [] }] };

  r.get(
    '/api/events',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'List events',
        description:
          'Tracked objects of your organisation, newest first (by first seen). `from`/`to` keep events seen at some moment in that interval.',
        querystring: EventQuery,
        response: { 200: pageOf(EventItem), ...errorResponses },
      },
    },
    async (req) => {
      const { limit, cursor, ...filter } = req.query;
      return events.list(callerOf(req).orgId, filter, { limit, cursor });
    },
  );

  r.get(
    '/api/cameras/:cameraId/events/:trackId',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Get an event',
        params: EventParams,
        response: { 200: EventItem, ...errorResponses },
      },
    },
    async (req) => events.get(callerOf(req).orgId, req.params.cameraId, req.params.trackId),
  );

  r.get(
    '/api/cameras/:cameraId/events/:trackId/snapshot',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Snapshot of an event',
        description: 'The best picture of the tracked object (image/jpeg).',
        params: EventParams,
        response: { 200: jpegResponse, ...errorResponses },
      },
    },
    async (req, reply) =>
      sendSnapshot(
        reply,
        await events.snapshot(callerOf(req).orgId, req.params.cameraId, req.params.trackId),
      ),
  );
}
