import { isIcebergError } from '@iceberg/common';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';
import { AuthService } from '../../services/auth.service.ts';
import { authenticate, callerOf } from '../authenticate.ts';

const ErrorBody = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .describe('An error: a stable code and a message a person can read');

const Role = z.enum(['owner', 'admin', 'viewer']);
const User = z.object({ id: z.string(), email: z.string(), name: z.string(), role: Role });
const Organisation = z.object({ id: z.string(), name: z.string() });

const LoginBody = z
  .object({
    email: z.string().trim().min(1).max(320),
    password: z.string().min(1).max(1024),
  })
  .strict();

const LoginResponse = z.object({
  token: z.string().describe('Send it as `Authorization: Bearer <token>`'),
  expiresAt: z.number().describe('When the token stops working (ms since the epoch)'),
  user: User,
  organisation: Organisation,
});

const MeResponse = z.object({ user: User, organisation: Organisation, role: Role });

/** Logging in and out, and who the caller is. */
export async function registerAuthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const auth = new AuthService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    tokenTtlHours: deps.config.auth.tokenTtlHours,
    loginAttemptsPerMinute: deps.config.auth.loginAttemptsPerMinute,
  });
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/auth/login',
    {
      schema: {
        summary: 'Log in with e-mail address and password',
        description: `Returns a bearer token valid for ${deps.config.auth.tokenTtlHours} h. At most ${deps.config.auth.loginAttemptsPerMinute} attempts a minute per client and per e-mail address.`,
        tags: ['auth'],
        body: LoginBody,
        response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (req, reply) => {
      try {
        return await auth.login({ email: req.body.email, password: req.body.password, ip: req.ip });
      } catch (err) {
        if (isIcebergError(err) && err.code === 'ICEBERG_ERR_RATE_LIMITED')
          reply.header('retry-after', String(err.details?.retryAfterSeconds ?? 60));
        throw err;
      }
    },
  );

  r.post(
    '/api/auth/logout',
    {
      onRequest: authenticate(deps),
      schema: {
        summary: 'Log out: the token stops working',
        tags: ['auth'],
        security: [{ bearer: [] }],
        response: { 204: z.null().describe('Logged out'), 401: ErrorBody },
      },
    },
    async (req, reply) => {
      await auth.logout(callerOf(req));
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/api/auth/me',
    {
      onRequest: authenticate(deps),
      schema: {
        summary: 'The caller, their organisation and role',
        tags: ['auth'],
        security: [{ bearer: [] }],
        response: { 200: MeResponse, 401: ErrorBody },
      },
    },
    async (req) => auth.me(callerOf(req)),
  );
}
