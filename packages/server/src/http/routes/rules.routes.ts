import { Id } from '@iceberg/contracts';
import { RuleSpec } from '@iceberg/rules';
import type { FastifyInstance, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { RuleService, RuleView } from '../../services/rule.service.ts';
import { authenticate, callerOf, requireEditor } from '../authenticate.ts';

/** Optional hooks of the rule routes; the composition root may add them to the API's deps. */
export interface RuleRouteHooks {
  /** Called after a rule of the organisation changes through the API (e.g. `ruleEvaluator.invalidate`). */
  onRulesChanged?: (orgId: string) => void;
}

const ErrorBody = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .describe(
    'An error: a stable code and a message; an invalid rule has `details.issues = [{ path, message }]` with paths such as `trigger.polygon[2]`',
  );

const Params = z.object({ id: Id });
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional().describe('Page size, 1–500 (default 100)'),
  cursor: z.string().min(1).max(1024).optional().describe('`nextCursor` of the previous page'),
  enabled: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true'))
    .describe('Only enabled (true) or disabled (false) rules'),
});
const RulePage = z.object({ items: z.array(RuleView), nextCursor: z.string().nullable() });
const EnabledBody = z.object({ enabled: z.boolean() }).strict();

/**
 * The rule body is documented as a RuleSpec but checked by `parseRule` in the service, whose
 * issues carry the field paths the web app shows (`trigger.polygon[2]`): the body passes the
 * schema validator untouched, params and query are validated as usual.
 */
function ruleBodyCompiler<S>(
  route: Parameters<FastifySchemaCompiler<S>>[0],
): ReturnType<FastifySchemaCompiler<S>> {
  if (route.httpPart === 'body') return (data: unknown) => ({ value: data });
  return validatorCompiler(route as unknown as Parameters<FastifySchemaCompiler<z.ZodType>>[0]);
}

const editorOnly = async (req: FastifyRequest): Promise<void> => {
  requireEditor(req);
};

/** The alert rules of the caller's organisation. */
export async function registerRuleRoutes(
  app: FastifyInstance,
  deps: ApiDeps & RuleRouteHooks,
): Promise<void> {
  const rules = new RuleService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.onRulesChanged && { onChange: deps.onRulesChanged }),
  });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = authenticate(deps);
  const tags = ['rules'];
  const security = [{ bearer: [] }];

  r.get(
    '/api/rules',
    {
      onRequest: auth,
      schema: {
        summary: 'List rules, oldest first',
        tags,
        security,
        querystring: ListQuery,
        response: { 200: RulePage, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const { limit, cursor, enabled } = req.query;
      return rules.list(callerOf(req).orgId, enabled === undefined ? {} : { enabled }, { limit, cursor });
    },
  );

  r.get(
    '/api/rules/:id',
    {
      onRequest: auth,
      schema: {
        summary: 'One rule',
        tags,
        security,
        params: Params,
        response: { 200: RuleView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => rules.get(callerOf(req).orgId, req.params.id),
  );

  r.post(
    '/api/rules',
    {
      onRequest: auth,
      preValidation: editorOnly,
      validatorCompiler: ruleBodyCompiler,
      schema: {
        summary: 'Add a rule (owners and admins)',
        tags,
        security,
        body: RuleSpec,
        response: { 201: RuleView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req, reply) => {
      const rule = await rules.create(requireEditor(req).orgId, req.body as unknown);
      return reply.code(201).send(rule);
    },
  );

  r.put(
    '/api/rules/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      validatorCompiler: ruleBodyCompiler,
      schema: {
        summary: 'Replace a rule (owners and admins)',
        tags,
        security,
        params: Params,
        body: RuleSpec,
        response: { 200: RuleView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => rules.replace(requireEditor(req).orgId, req.params.id, req.body as unknown),
  );

  r.patch(
    '/api/rules/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Switch a rule on or off (owners and admins)',
        tags,
        security,
        params: Params,
        body: EnabledBody,
        response: { 200: RuleView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => rules.setEnabled(requireEditor(req).orgId, req.params.id, req.body.enabled),
  );

  r.delete(
    '/api/rules/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Delete a rule (owners and admins)',
        tags,
        security,
        params: Params,
        response: {
          204: z.null().describe('Deleted'),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      await rules.delete(requireEditor(req).orgId, req.params.id);
      return reply.code(204).send(null);
    },
  );
}
