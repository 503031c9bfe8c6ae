import { CameraProblemCode } from '@iceberg/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { CameraInput } from '../../services/camera.service.ts';
import {
  CameraProbeService,
  PROBE_DEFAULT_TIMEOUT_MS,
  PROBE_MAX_TIMEOUT_MS,
} from '../../services/camera-probe.service.ts';
import { authenticate, requireEditor } from '../authenticate.ts';

const ErrorBody = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .describe('An error: a stable code and a message a person can read');

const ProbeBody = z
  .object({
    input: CameraInput,
    timeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(PROBE_MAX_TIMEOUT_MS)
      .optional()
      .describe(`How long to wait for the first frame (default ${PROBE_DEFAULT_TIMEOUT_MS} ms)`),
  })
  .strict();

const ProbeResponse = z.union([
  z.object({
    ok: z.literal(true),
    stream: z.object({ width: z.number(), height: z.number(), codec: z.string(), fps: z.number() }),
  }),
  z.object({
    ok: z.literal(false),
    problem: z.object({ code: CameraProblemCode, message: z.string() }),
  }),
]);

const editorOnly = async (req: FastifyRequest): Promise<void> => {
  requireEditor(req);
};

/** `POST /api/cameras/test`: tries an input once (ffmpeg) and says what it found. */
export async function registerCameraProbeRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const probes = new CameraProbeService({ logger: deps.logger });
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/cameras/test',
    {
      onRequest: authenticate(deps),
      preValidation: editorOnly,
      schema: {
        summary: 'Test a camera input (owners and admins): the stream found, or the problem',
        tags: ['cameras'],
        security: [{ bearer: [] }],
        body: ProbeBody,
        response: {
          200: ProbeResponse,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (req) => probes.probe(requireEditor(req).orgId, req.body.input, req.body.timeoutMs),
  );
}
