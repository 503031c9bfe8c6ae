import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { IcebergError, silentLogger } from '@iceberg/common';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { buildApp } from '../src/http/app.ts';

describe('HTTP application: errors are clear and never 500 for a bad request', async () => {
  const app: FastifyInstance = await buildApp({ logger: silentLogger(), bodyLimit: 1024 }, (a) => {
    a.withTypeProvider<ZodTypeProvider>().post(
      '/api/things',
      {
        schema: {
          body: z.object({ name: z.string().min(1).max(20), count: z.number().int().min(0) }).strict(),
        },
      },
      async (req) => ({ made: req.body.name }),
    );
    a.get('/api/missing-thing', async () => {
      throw new IcebergError('ICEBERG_ERR_NOT_FOUND', 'no camera "x" in this organisation');
    });
    a.get('/api/bug', async () => {
      throw new Error('secret internal detail');
    });
  });
  after(() => app.close());

  test('health answers ok', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/health' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
  });

  const cases: Array<[string, InjectOptions, number, RegExp]> = [
    ['an unknown route', { method: 'GET', url: '/api/nope?x=1' }, 404, /no route GET \/api\/nope$/],
    [
      'a field of the wrong type',
      { method: 'POST', url: '/api/things', payload: { name: 'a', count: 'x' } },
      400,
      /body\.count/,
    ],
    [
      'an unknown field',
      { method: 'POST', url: '/api/things', payload: { name: 'a', count: 1, admin: true } },
      400,
      /admin|unrecognized/i,
    ],
    [
      'broken JSON',
      {
        method: 'POST',
        url: '/api/things',
        headers: { 'content-type': 'application/json' },
        payload: '{"name":',
      },
      400,
      /not valid JSON/,
    ],
    [
      'a body over the limit',
      { method: 'POST', url: '/api/things', payload: { name: 'a', count: 1, pad: 'x'.repeat(5000) } },
      413,
      /too large/,
    ],
    [
      'a content type it does not speak',
      { method: 'POST', url: '/api/things', headers: { 'content-type': 'text/xml' }, payload: '<a/>' },
      415,
      /content type/,
    ],
    ['a coded error', { method: 'GET', url: '/api/missing-thing' }, 404, /no camera "x"/],
  ];
  for (const [name, request, status, message] of cases) {
    test(`${name} → ${status} with a message`, async () => {
      const r = await app.inject(request);
      assert.equal(r.statusCode, status, r.body);
      const body = r.json() as { error: { code: string; message: string } };
      assert.match(body.error.code, /^ICEBERG_ERR_/);
      assert.match(body.error.message, message);
    });
  }

  test('a bug is a 500 that does not leak its details', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/bug' });
    assert.equal(r.statusCode, 500);
    assert.doesNotMatch(r.body, /secret internal detail/);
  });

  test('the OpenAPI document describes the routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/health']);
    assert.ok(doc.paths['/api/things']);
  });
});
