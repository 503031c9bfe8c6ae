import { Id } from '@iceberg/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { CreateSiteInput, SiteService, SiteView, UpdateSiteInput } from '../../services/site.service.ts';
import { authenticate, callerOf, requireEditor } from '../authenticate.ts';

const ErrorBody = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .describe('An error: a stable code and a message a person can read');

const Params = z.object({ id: Id });
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional().describe('Page size, 1–500 (default 100)'),
  cursor: z.string().min(1).max(1024).optional().describe('`nextCursor` of the previous page'),
});
const SitePage = z.object({ items: z.array(SiteView), nextCursor: z.string().nullable() });

const editorOnly = async (req: FastifyRequest): Promise<void> => {
  requireEditor(req);
};

/** The sites (places, each with its time zone) of the caller's organisation. */
export async function registerSiteRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const sites = new SiteService({ store: deps.store, clock: deps.clock, logger: deps.logger });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = authenticate(deps);
  const tags = ['sites'];
  const security = [{ bearer: [] }];

  r.get(
    '/api/sites',
    {
      onRequest: auth,
      schema: {
        summary: 'List sites (oldest first)',
        tags,
        security,
        querystring: ListQuery,
        response: { 200: SitePage, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => sites.list(callerOf(req).orgId, req.query),
  );

  r.get(
    '/api/sites/:id',
    {
      onRequest: auth,
      schema: {
        summary: 'One site',
        tags,
        security,
        params: Params,
        response: { 200: SiteView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => sites.get(callerOf(req).orgId, req.params.id),
  );

  r.post(
    '/api/sites',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Add a site (owners and admins)',
        tags,
        security,
        body: CreateSiteInput,
        response: { 201: SiteView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const site = await sites.create(requireEditor(req).orgId, req.body);
      return reply.code(201).send(site);
    },
  );

  r.patch(
    '/api/sites/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Rename a site or change its time zone (owners and admins)',
        tags,
        security,
        params: Params,
        body: UpdateSiteInput,
        response: { 200: SiteView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => sites.update(requireEditor(req).orgId, req.params.id, req.body),
  );

  r.delete(
    '/api/sites/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Remove a site (owners and admins); its devices stay, without a site',
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
      await sites.delete(requireEditor(req).orgId, req.params.id);
      return reply.code(204).send(null);
    },
  );
}
