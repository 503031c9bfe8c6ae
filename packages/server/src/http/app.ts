import swagger from '@fastify/swagger';
import type { Logger } from '@iceberg/common';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createErrorHandler, notFoundHandler } from './error-handler.ts';

export interface AppOptions {
  logger: Logger;
  /** Largest request body accepted (default 1 MiB). */
  bodyLimit?: number;
  version?: string;
}

/**
 * The HTTP application: zod schemas validate requests and serialise responses (the same schemas
 * produce the OpenAPI document), one error handler, JSON 404s, a body limit. Routes are
 * registered by the caller through `register`.
 */
export async function buildApp(
  options: AppOptions,
  register: (app: FastifyInstance) => Promise<void> | void,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1 << 20,
    trustProxy: false,
    return503OnClosing: true,
    // Signed media tokens travel in the path (/live/hls/<token>/…) and exceed the default 100.
    routerOptions: { maxParamLength: 2048 },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(createErrorHandler(options.logger));
  app.setNotFoundHandler(notFoundHandler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Iceberg API',
        version: options.version ?? '0.1.0',
        description:
          'Cameras, events, rules and alerts of one organisation. Authenticate with POST /api/auth/login, then send `Authorization: Bearer <token>`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(async (scoped) => {
    scoped.withTypeProvider<ZodTypeProvider>().get(
      '/api/health',
      {
        schema: {
          summary: 'Liveness',
          tags: ['system'],
          response: { 200: z.object({ status: z.literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );
    scoped.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await register(scoped as unknown as FastifyInstance);
  });
  await app.ready();
  // Our pino logger's type is narrower than Fastify's default; the instance is the same.
  return app as unknown as FastifyInstance;
}
