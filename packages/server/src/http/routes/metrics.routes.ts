import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../../api-deps.ts';

/** `GET /metrics`: the server's Prometheus metrics, for a scraper. */
export async function registerMetricsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { registry } = deps.metrics;
  app.withTypeProvider<ZodTypeProvider>().get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description:
          'The server-wide counters, gauges and histograms (`iceberg_*`) in the Prometheus text format. Not authenticated, so a scraper needs no token: it holds aggregates over all organisations (messages consumed, alerts raised, live clients, the devices’ outbox backlog, process figures) and nothing of any tenant (no organisation, camera, rule or user names or ids). Keep it off the public network if even totals are sensitive.',
        tags: ['system'],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: z.string() } },
          },
        },
      },
    },
    async (_req, reply) => {
      const text = await registry.metrics();
      return reply
        .header('content-type', registry.contentType)
        .header('cache-control', 'no-store')
        .send(text);
    },
  );
}
