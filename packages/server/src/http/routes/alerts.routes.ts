import { AlertStatus } from '@iceberg/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { AlertReviewService } from '../../services/alert-review.service.ts';
import { SnapshotFiles } from '../../snapshot-files.ts';
import { authenticate, callerOf } from '../authenticate.ts';
import {
  ErrorBody,
  errorResponses,
  IdParam,
  Instant,
  pageOf,
  pageQuery,
  rangeError,
  rangeInOrder,
  SafeText,
} from '../query-schemas.ts';
import { jpegResponse, sendSnapshot } from './events.routes.ts';

export const AlertItem = z
  .object({
    id: z.string(),
    orgId: z.string(),
    ruleId: z.string(),
    ruleName: z.string(),
    deviceId: z.string(),
    cameraId: z.string(),
    reason: z.string().meta({ description: 'enter, inside, leave, cross, dwell or count' }),
    class: z.string(),
    trackIds: z.array(z.string()),
    score: z.number(),
    box: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable(),
    at: z.number().int().meta({ description: 'When what fired the rule happened (capture time)' }),
    createdAt: z.number().int(),
    status: AlertStatus,
    statusAt: z.number().int(),
    statusBy: z.string().nullable().meta({ description: 'User id that set the status; null while new' }),
    message: z.string(),
    dedupeKey: z.string(),
    snapshotUrl: z.string().nullable(),
  })
  .meta({
    description: 'An alert (alert.v1 without its schema tag, plus its status history and picture URL)',
  });

const AlertQuery = z
  .object({
    status: AlertStatus.optional(),
    cameraId: IdParam.optional(),
    ruleId: SafeText(64).optional(),
    from: Instant.optional().meta({
      description: 'Alerts at or after this instant: epoch ms or ISO 8601 (2026-11-25T10:00:00Z)',
    }),
    to: Instant.optional().meta({
      description: 'Alerts at or before this instant: epoch ms or ISO 8601 (2026-11-25T10:00:00Z)',
    }),
    ...pageQuery,
  })
  .strict()
  .refine(rangeInOrder, rangeError);

const AlertParams = z.object({ id: SafeText(64) });

const StatusChange = z
  .object({
    status: AlertStatus.meta({
      description: 'acknowledged or resolved; an alert never goes back (to new, or from resolved)',
    }),
  })
  .strict();

/** Alerts of the caller's organisation: list, look, acknowledge, resolve, picture. */
export async function registerAlertRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const alerts = new AlertReviewService({
    store: deps.store,
    hub: deps.hub,
    clock: deps.clock,
    snapshots: new SnapshotFiles(deps.dataDir),
  });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const preHandler = authenticate(deps);
  const common = { tags: ['alerts'], security: [{ bearer: [] }] };

  r.get(
    '/api/alerts',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'List alerts',
        description: 'Alerts of your organisation, newest first (by `at`).',
        querystring: AlertQuery,
        response: { 200: pageOf(AlertItem), ...errorResponses },
      },
    },
    async (req) => {
      const { limit, cursor, ...filter } = req.query;
      return alerts.list(callerOf(req).orgId, filter, { limit, cursor });
    },
  );

  r.get(
    '/api/alerts/:id',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Get an alert',
        params: AlertParams,
        response: { 200: AlertItem, ...errorResponses },
      },
    },
    async (req) => alerts.get(callerOf(req).orgId, req.params.id),
  );

  r.patch(
    '/api/alerts/:id',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Acknowledge or resolve an alert',
        description:
          'Any member of the organisation may acknowledge and resolve alerts, viewers included: handling alerts is the job of the people watching the cameras (an NVR operator), while changing cameras and rules is for owners and admins. The updated alert is pushed to live clients as `alert-updated`. Asking for the status the alert already has changes nothing; going back is a 409.',
        params: AlertParams,
        body: StatusChange,
        response: { 200: AlertItem, ...errorResponses, 409: ErrorBody },
      },
    },
    async (req) => alerts.setStatus(callerOf(req), req.params.id, req.body.status),
  );

  r.get(
    '/api/alerts/:id/snapshot',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Snapshot of an alert',
        description: 'The picture of the (first) tracked object that fired the rule (image/jpeg).',
        params: AlertParams,
        response: { 200: jpegResponse, ...errorResponses },
      },
    },
    async (req, reply) => sendSnapshot(reply, await alerts.snapshot(callerOf(req).orgId, req.params.id)),
  );
}
