import { Id } from '@iceberg/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { DeviceService, DeviceView, UpdateDeviceInput } from '../../services/device.service.ts';
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
  siteId: Id.optional().describe('Only the devices of this site'),
});
const DevicePage = z.object({ items: z.array(DeviceView), nextCursor: z.string().nullable() });

const editorOnly = async (req: FastifyRequest): Promise<void> => {
  requireEditor(req);
};

/** The edge devices of the caller's organisation (created by their first heartbeat). */
export async function registerDeviceRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const devices = new DeviceService({ store: deps.store, logger: deps.logger });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = authenticate(deps);
  const tags = ['devices'];
  const security = [{ bearer: [] }];

  r.get(
    '/api/devices',
    {
      onRequest: auth,
      schema: {
        summary: 'List edge devices (by id), with their latest heartbeat',
        tags,
        security,
        querystring: ListQuery,
        response: { 200: DevicePage, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const { limit, cursor, siteId } = req.query;
      return devices.list(callerOf(req).orgId, siteId ? { siteId } : {}, { limit, cursor });
    },
  );

  r.get(
    '/api/devices/:id',
    {
      onRequest: auth,
      schema: {
        summary: 'One edge device, with its latest heartbeat and when it was sent',
        tags,
        security,
        params: Params,
        response: { 200: DeviceView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => devices.get(callerOf(req).orgId, req.params.id),
  );

  r.patch(
    '/api/devices/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Rename a device or move it to another site (owners and admins)',
        tags,
        security,
        params: Params,
        body: UpdateDeviceInput,
        response: { 200: DeviceView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => devices.update(requireEditor(req).orgId, req.params.id, req.body),
  );

  r.delete(
    '/api/devices/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Remove a device (owners and admins); its next heartbeat adds it again',
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
      await devices.delete(requireEditor(req).orgId, req.params.id);
      return reply.code(204).send(null);
    },
  );
}
