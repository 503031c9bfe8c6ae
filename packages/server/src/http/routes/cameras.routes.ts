import { Id } from '@iceberg/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import {
  CameraService,
  CameraView,
  CreateCameraInput,
  UpdateCameraInput,
} from '../../services/camera.service.ts';
import { authenticate, callerOf, requireEditor } from '../authenticate.ts';

/** Optional hooks of the camera routes; the composition root may add them to the API's deps. */
export interface CameraRouteHooks {
  /** Called after a camera is created, changed or deleted through the API. */
  onCameraChanged?: (orgId: string, cameraId: string) => void;
}

const ErrorBody = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .describe('An error: a stable code and a message a person can read');

const Params = z.object({ id: Id });
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional().describe('Page size, 1–500 (default 100)'),
  cursor: z.string().min(1).max(1024).optional().describe('`nextCursor` of the previous page'),
  deviceId: Id.optional().describe('Only the cameras of this edge device'),
});
const CameraPage = z.object({ items: z.array(CameraView), nextCursor: z.string().nullable() });

const editorOnly = async (req: FastifyRequest): Promise<void> => {
  requireEditor(req);
};

/** The cameras of the caller's organisation. Inputs are shown with their passwords replaced by `***`. */
export async function registerCameraRoutes(
  app: FastifyInstance,
  deps: ApiDeps & CameraRouteHooks,
): Promise<void> {
  const cameras = new CameraService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.onCameraChanged && { onChange: deps.onCameraChanged }),
  });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = authenticate(deps);
  const tags = ['cameras'];
  const security = [{ bearer: [] }];

  r.get(
    '/api/cameras',
    {
      onRequest: auth,
      schema: {
        summary: 'List cameras',
        tags,
        security,
        querystring: ListQuery,
        response: { 200: CameraPage, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const { limit, cursor, deviceId } = req.query;
      return cameras.list(callerOf(req).orgId, deviceId ? { deviceId } : {}, { limit, cursor });
    },
  );

  r.get(
    '/api/cameras/:id',
    {
      onRequest: auth,
      schema: {
        summary: 'One camera',
        tags,
        security,
        params: Params,
        response: { 200: CameraView, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => cameras.get(callerOf(req).orgId, req.params.id),
  );

  r.post(
    '/api/cameras',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Add a camera (owners and admins)',
        tags,
        security,
        body: CreateCameraInput,
        response: { 201: CameraView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const camera = await cameras.create(requireEditor(req).orgId, req.body);
      return reply.code(201).send(camera);
    },
  );

  r.patch(
    '/api/cameras/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Change a camera (owners and admins); `settings`, when given, replaces them all',
        tags,
        security,
        params: Params,
        body: UpdateCameraInput,
        response: { 200: CameraView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => cameras.update(requireEditor(req).orgId, req.params.id, req.body),
  );

  r.delete(
    '/api/cameras/:id',
    {
      onRequest: auth,
      preValidation: editorOnly,
      schema: {
        summary: 'Remove a camera (owners and admins)',
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
      await cameras.delete(requireEditor(req).orgId, req.params.id);
      return reply.code(204).send(null);
    },
  );
}
