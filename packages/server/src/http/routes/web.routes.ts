import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The web app (packages/web, built by Vite into dist/) from the same origin as the API, so the
 * browser needs no CORS and the token never leaves the site. Hash routing: only `/` and the
 * built assets are served. Without a build, `/` says how to make one.
 */
export async function registerWebRoutes(app: FastifyInstance, webRoot: string | undefined): Promise<void> {
  if (webRoot && existsSync(`${webRoot}/index.html`)) {
    await app.register(fastifyStatic, {
      root: webRoot,
      prefix: '/',
      index: ['index.html'],
      maxAge: '1h',
      immutable: false,
    });
    return;
  }
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/plain')
      .send(
        'The web app is not built: run "bash scripts/setup.sh" (or "npm run build:web"). The API is at /api.\n',
      ),
  );
}
