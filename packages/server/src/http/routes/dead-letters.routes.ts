import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { DeadLetterQueryService, LIST_VALUE_CHARS } from '../../services/dead-letter-query.service.ts';
import { authenticate, requireEditor } from '../authenticate.ts';
import { BooleanParam, ErrorBody, errorResponses, pageOf, pageQuery, SafeText } from '../query-schemas.ts';

export const DeadLetterItem = z
  .object({
    id: z.string(),
    topic: z.string(),
    key: z.string(),
    value: z
      .string()
      .meta({ description: `The original message; cut to ${LIST_VALUE_CHARS} characters in lists` }),
    valueTruncated: z.boolean(),
    encoding: z.enum(['utf8', 'base64']),
    headers: z.record(z.string(), z.string()),
    reason: z.enum(['invalid', 'handler_failed']),
    error: z.string(),
    group: z.string(),
    at: z.number().int(),
    replayedAt: z.number().int().nullable(),
  })
  .meta({ description: 'A bus message that could not be processed, parked with its original bytes' });

const DeadLetterFilterQuery = {
  topic: SafeText(255).optional(),
  replayed: BooleanParam.optional().meta({ description: 'true: only replayed; false: only waiting' }),
};

/** Owners and admins only: a viewer gets 403. */
const adminOnly = async (req: FastifyRequest) => {
  requireEditor(req);
};

/** Dead letters of the caller's organisation, for its owners and admins. */
export async function registerDeadLetterRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const letters = new DeadLetterQueryService(deps.store);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const preHandler = [authenticate(deps), adminOnly];
  const common = { tags: ['dead-letters'], security: [{ bearer: [] }] };
  const responses = { ...errorResponses, 403: ErrorBody };

  r.get(
    '/api/dead-letters',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'List dead letters',
        description:
          "Messages from your organisation's devices that could not be processed, newest first. Owners and admins only.",
        querystring: z.object({ ...DeadLetterFilterQuery, ...pageQuery }).strict(),
        response: { 200: pageOf(DeadLetterItem), ...responses },
      },
    },
    async (req) => {
      const { limit, cursor, ...filter } = req.query;
      return letters.list(requireEditor(req).orgId, filter, { limit, cursor });
    },
  );

  r.get(
    '/api/dead-letters/count',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Count dead letters',
        description: 'Owners and admins only.',
        querystring: z.object(DeadLetterFilterQuery).strict(),
        response: { 200: z.object({ count: z.number().int() }), ...responses },
      },
    },
    async (req) => ({ count: await letters.count(requireEditor(req).orgId, req.query) }),
  );

  r.get(
    '/api/dead-letters/:id',
    {
      preHandler,
      schema: {
        ...common,
        summary: 'Get a dead letter',
        description: 'With its whole value. Owners and admins only.',
        params: z.object({ id: SafeText(64) }),
        response: { 200: DeadLetterItem, ...responses },
      },
    },
    async (req) => letters.get(requireEditor(req).orgId, req.params.id),
  );
}
