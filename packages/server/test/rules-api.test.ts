import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseRule } from '@iceberg/rules';
import type { InjectOptions } from 'fastify';
import { ruleOf } from '../src/services/rule.service.ts';
import { createTenantHarness, ruleInput, type TenantHarness } from './tenant-api-helpers.ts';

type RuleBody = {
  id: string;
  name: string;
  enabled: boolean;
  spec: Record<string, unknown> & { cameras: string[]; enabled: boolean; name: string };
  createdAt: number;
  updatedAt: number;
};
type ErrorBody = {
  error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }> } };
};

describe('rules API', () => {
  let h: TenantHarness;
  const owner = 'owner@org-a.test';
  const admin = 'admin@org-a.test';
  const viewer = 'viewer@org-a.test';
  const ownerB = 'owner@org-b.test';
  let ruleA: RuleBody;
  let ruleB: RuleBody;

  before(async () => {
    h = await createTenantHarness();
    for (const id of ['cam-1', 'cam-2', 'cam-3'])
      await h.store.cameras.create({
        orgId: 'org-a',
        id,
        deviceId: 'edge-1',
        name: id,
        input: '/dev/video0',
      });
    await h.store.cameras.create({
      orgId: 'org-b',
      id: 'cam-b',
      deviceId: 'edge-1',
      name: 'b',
      input: '/dev/video0',
    });
  });
  after(() => h.close());

  const post = (email: string, payload: unknown) =>
    h.as(email, {
      method: 'POST',
      url: '/api/rules',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });

  test('an admin adds a rule: 201 with the spec (defaults filled in); the columns follow the spec', async () => {
    const before = h.changes.rules.length;
    const r = await post(admin, ruleInput(['cam-1', 'cam-2']));
    assert.equal(r.statusCode, 201, r.body);
    ruleA = r.json() as RuleBody;
    assert.deepEqual(Object.keys(ruleA).sort(), ['createdAt', 'enabled', 'id', 'name', 'spec', 'updatedAt']);
    assert.equal(ruleA.name, 'Person at the door');
    assert.equal(ruleA.enabled, true);
    assert.equal(ruleA.createdAt, h.clock.now());
    const parsed = parseRule(ruleInput(['cam-1', 'cam-2']));
    assert.ok(parsed.ok);
    assert.deepEqual(ruleA.spec, parsed.rule);
    assert.equal(ruleA.spec.cooldownSeconds, 60);
    const stored = await h.store.rules.get('org-a', ruleA.id);
    assert.deepEqual(stored?.cameraIds, ['cam-1', 'cam-2']);
    assert.equal(stored?.name, 'Person at the door');
    assert.equal(stored?.enabled, true);
    assert.deepEqual(h.changes.rules.slice(before), ['org-a']);

    const b = await post(ownerB, ruleInput(['cam-b'], { name: 'B rule', enabled: false }));
    assert.equal(b.statusCode, 201, b.body);
    ruleB = b.json() as RuleBody;
    assert.equal(ruleB.enabled, false);
    assert.equal((await h.store.rules.get('org-b', ruleB.id))?.enabled, false);
  });

  test('an invalid rule → 400 with the issues exactly as parseRule gives them, with field paths', async () => {
    const cases: unknown[] = [
      ruleInput(['cam-1'], {
        trigger: {
          type: 'zone',
          on: 'enter',
          polygon: [
            [0.1, 0.1],
            [0.9, 0.1],
            [1.5, 0.9],
          ],
        },
      }),
      ruleInput(['cam-1'], { classes: ['person', 'dragon'], minScore: 2 }),
      ruleInput(['cam-1'], { trigger: { type: 'line', from: [0, 0], to: [0, 0], direction: 'any' } }),
      ruleInput(['cam-1'], { actions: [{ type: 'webhook', url: 'ftp://x' }] }),
      ruleInput(['cam-1'], { script: 'rm -rf /' }),
      ruleInput([]),
      { name: 'x' },
      [1, 2, 3],
      'a rule',
      null,
      42,
    ];
    for (const input of cases) {
      const r = await post(owner, input);
      assert.equal(r.statusCode, 400, `${JSON.stringify(input)}: ${r.body}`);
      const body = r.json() as ErrorBody;
      assert.equal(body.error.code, 'ICEBERG_ERR_INPUT_INVALID');
      const expected = parseRule(input);
      assert.ok(!expected.ok);
      assert.deepEqual(body.error.details?.issues, expected.errors);
    }
    const polygon = (await post(owner, cases[0])).json() as ErrorBody;
    assert.equal(polygon.error.details?.issues?.[0]?.path, 'trigger.polygon[2]');
    assert.match(polygon.error.message, /^trigger\.polygon\[2\]: /);
  });

  test('every camera named must be one of the organisation’s: else 400 naming cameras[i]', async () => {
    const r = await post(owner, ruleInput(['cam-1', 'nope', 'cam-b']));
    assert.equal(r.statusCode, 400, r.body);
    const body = r.json() as ErrorBody;
    assert.equal(body.error.code, 'ICEBERG_ERR_INPUT_INVALID');
    assert.deepEqual(
      body.error.details?.issues?.map((i) => i.path),
      ['cameras[1]', 'cameras[2]'],
    );
    assert.match(body.error.message, /^cameras\[1\]: no camera "nope"/);
  });

  test('a viewer can list and read but not add, replace, switch or delete (403)', async () => {
    assert.equal((await h.as(viewer, { method: 'GET', url: '/api/rules' })).statusCode, 200);
    assert.equal((await h.as(viewer, { method: 'GET', url: `/api/rules/${ruleA.id}` })).statusCode, 200);
    const writes: InjectOptions[] = [
      { method: 'POST', url: '/api/rules', payload: ruleInput(['cam-1']) },
      { method: 'POST', url: '/api/rules', payload: { junk: true } },
      { method: 'PUT', url: `/api/rules/${ruleA.id}`, payload: ruleInput(['cam-1']) },
      { method: 'PATCH', url: `/api/rules/${ruleA.id}`, payload: { enabled: false } },
      { method: 'DELETE', url: `/api/rules/${ruleA.id}` },
    ];
    for (const request of writes) {
      const r = await h.as(viewer, request);
      assert.equal(r.statusCode, 403, `${request.method} ${request.url}: ${r.body}`);
      assert.equal((r.json() as ErrorBody).error.code, 'ICEBERG_ERR_FORBIDDEN');
    }
    assert.equal((await h.store.rules.get('org-a', ruleA.id))?.enabled, true);
  });

  test('PUT replaces the spec and the columns', async () => {
    h.clock.advance(1000);
    const r = await h.as(owner, {
      method: 'PUT',
      url: `/api/rules/${ruleA.id}`,
      payload: ruleInput(['cam-3'], {
        name: 'Loitering',
        trigger: { type: 'anywhere' },
        dwellSeconds: 30,
      }),
    });
    assert.equal(r.statusCode, 200, r.body);
    const rule = r.json() as RuleBody;
    assert.equal(rule.id, ruleA.id);
    assert.equal(rule.name, 'Loitering');
    assert.equal(rule.spec.dwellSeconds, 30);
    assert.equal(rule.createdAt, ruleA.createdAt);
    assert.equal(rule.updatedAt, h.clock.now());
    assert.deepEqual((await h.store.rules.get('org-a', ruleA.id))?.cameraIds, ['cam-3']);

    const bad = await h.as(owner, {
      method: 'PUT',
      url: `/api/rules/${ruleA.id}`,
      payload: ruleInput(['cam-3'], {
        trigger: { type: 'line', from: [0, 0], to: [1, 1], direction: 'any' },
        dwellSeconds: 5,
      }),
    });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.deepEqual(
      (bad.json() as ErrorBody).error.details?.issues?.map((i) => i.path),
      ['dwellSeconds'],
    );
    const missing = await h.as(owner, {
      method: 'PUT',
      url: `/api/rules/${ruleA.id}`,
      payload: ruleInput(['cam-b']),
    });
    assert.deepEqual(
      (missing.json() as ErrorBody).error.details?.issues?.map((i) => i.path),
      ['cameras[0]'],
    );
  });

  test('PATCH switches a rule off and on; the spec follows', async () => {
    const off = await h.as(admin, {
      method: 'PATCH',
      url: `/api/rules/${ruleA.id}`,
      payload: { enabled: false },
    });
    assert.equal(off.statusCode, 200, off.body);
    const rule = off.json() as RuleBody;
    assert.equal(rule.enabled, false);
    assert.equal(rule.spec.enabled, false);
    assert.equal((await h.store.rules.get('org-a', ruleA.id))?.enabled, false);
    const disabled = (await h.as(viewer, { method: 'GET', url: '/api/rules?enabled=false' })).json() as {
      items: RuleBody[];
    };
    assert.deepEqual(
      disabled.items.map((r) => r.id),
      [ruleA.id],
    );
    const on = await h.as(admin, {
      method: 'PATCH',
      url: `/api/rules/${ruleA.id}`,
      payload: { enabled: true },
    });
    assert.equal((on.json() as RuleBody).spec.enabled, true);
    for (const payload of [{}, { enabled: 'yes' }, { enabled: true, name: 'x' }]) {
      const r = await h.as(admin, { method: 'PATCH', url: `/api/rules/${ruleA.id}`, payload });
      assert.equal(r.statusCode, 400, `${JSON.stringify(payload)}: ${r.body}`);
    }
  });

  test('lists are paginated, oldest first, and hold only the caller’s rules', async () => {
    for (let i = 0; i < 4; i++) {
      h.clock.advance(10);
      assert.equal((await post(owner, ruleInput(['cam-1'], { name: `Rule ${i}` }))).statusCode, 201);
    }
    const seen: RuleBody[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/rules?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await h.as(viewer, { method: 'GET', url });
      assert.equal(r.statusCode, 200, r.body);
      const page = r.json() as { items: RuleBody[]; nextCursor: string | null };
      assert.ok(page.items.length <= 2);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(
      seen.map((r) => r.name),
      ['Loitering', 'Rule 0', 'Rule 1', 'Rule 2', 'Rule 3'],
    );
    assert.ok(!seen.some((r) => r.id === ruleB.id));
    const b = (await h.as(ownerB, { method: 'GET', url: '/api/rules' })).json() as { items: RuleBody[] };
    assert.deepEqual(
      b.items.map((r) => r.id),
      [ruleB.id],
    );
  });

  test('org-a gets 404 for org-b’s rule on every route, and it stays as it was', async () => {
    const requests: InjectOptions[] = [
      { method: 'GET', url: `/api/rules/${ruleB.id}` },
      { method: 'PUT', url: `/api/rules/${ruleB.id}`, payload: ruleInput(['cam-1']) },
      { method: 'PATCH', url: `/api/rules/${ruleB.id}`, payload: { enabled: true } },
      { method: 'DELETE', url: `/api/rules/${ruleB.id}` },
    ];
    for (const request of requests) {
      const r = await h.as(owner, request);
      assert.equal(r.statusCode, 404, `${request.method} ${request.url}: ${r.body}`);
      assert.equal((r.json() as ErrorBody).error.code, 'ICEBERG_ERR_NOT_FOUND');
      assert.ok(!r.body.includes('B rule'));
    }
    const stored = await h.store.rules.get('org-b', ruleB.id);
    assert.equal(stored?.name, 'B rule');
    assert.equal(stored?.enabled, false);
  });

  test('DELETE → 204, then the rule is gone', async () => {
    const before = h.changes.rules.length;
    const r = await h.as(owner, { method: 'DELETE', url: `/api/rules/${ruleA.id}` });
    assert.equal(r.statusCode, 204, r.body);
    assert.equal(r.body, '');
    assert.equal((await h.as(owner, { method: 'GET', url: `/api/rules/${ruleA.id}` })).statusCode, 404);
    assert.equal((await h.as(owner, { method: 'DELETE', url: `/api/rules/${ruleA.id}` })).statusCode, 404);
    assert.deepEqual(h.changes.rules.slice(before), ['org-a']);
  });

  test('no token → 401 on every rule route', async () => {
    const requests: InjectOptions[] = [
      { method: 'GET', url: '/api/rules' },
      { method: 'GET', url: `/api/rules/${ruleB.id}` },
      { method: 'POST', url: '/api/rules', payload: ruleInput(['cam-1']) },
      { method: 'POST', url: '/api/rules', payload: { junk: 1 } },
      { method: 'PUT', url: `/api/rules/${ruleB.id}`, payload: ruleInput(['cam-1']) },
      { method: 'PATCH', url: `/api/rules/${ruleB.id}`, payload: { enabled: true } },
      { method: 'DELETE', url: `/api/rules/${ruleB.id}` },
    ];
    for (const request of requests) {
      const r = await h.app.inject(request);
      assert.equal(r.statusCode, 401, `${request.method} ${request.url}: ${r.body}`);
    }
  });

  const manyPoints = Array.from({ length: 10_000 }, (_, i) => [i / 10_000, (i % 7) / 7]);
  const hostile: Array<[string, InjectOptions]> = [
    ['a path-traversal id', { method: 'GET', url: '/api/rules/..%2F..%2Fetc%2Fpasswd' }],
    [
      'a path-traversal id on PUT',
      { method: 'PUT', url: '/api/rules/..%2F..', payload: ruleInput(['cam-1']) },
    ],
    [
      'a path-traversal id on PATCH',
      { method: 'PATCH', url: '/api/rules/..%2F..', payload: { enabled: true } },
    ],
    ['a path-traversal id on DELETE', { method: 'DELETE', url: '/api/rules/..%2F..' }],
    ['an id with quotes', { method: 'GET', url: "/api/rules/x'%20or%20'1'%3D'1" }],
    [
      'a huge name',
      { method: 'POST', url: '/api/rules', payload: ruleInput(['cam-1'], { name: 'n'.repeat(100_000) }) },
    ],
    [
      'a huge polygon',
      {
        method: 'POST',
        url: '/api/rules',
        payload: ruleInput(['cam-1'], { trigger: { type: 'zone', on: 'enter', polygon: manyPoints } }),
      },
    ],
    [
      'too many cameras',
      {
        method: 'POST',
        url: '/api/rules',
        payload: ruleInput(Array.from({ length: 600 }, (_, i) => `c${i}`)),
      },
    ],
    [
      'a body over the limit',
      { method: 'POST', url: '/api/rules', payload: ruleInput(['cam-1'], { name: 'n'.repeat(2 << 20) }) },
    ],
    [
      'a deeply nested body',
      {
        method: 'POST',
        url: '/api/rules',
        headers: { 'content-type': 'application/json' },
        payload: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      },
    ],
    [
      'a deeply nested trigger',
      {
        method: 'POST',
        url: '/api/rules',
        headers: { 'content-type': 'application/json' },
        payload: `{"name":"x","cameras":["cam-1"],"classes":["person"],"trigger":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      },
    ],
    [
      'wrong types',
      { method: 'POST', url: '/api/rules', payload: { name: 1, cameras: 'cam-1', classes: {}, trigger: [] } },
    ],
    [
      'a prototype-polluting key',
      {
        method: 'POST',
        url: '/api/rules',
        headers: { 'content-type': 'application/json' },
        payload: `{"__proto__":{"admin":true},"name":"x"}`,
      },
    ],
    ['a limit that is not a number', { method: 'GET', url: '/api/rules?limit=abc' }],
    ['an enabled filter that is not a boolean', { method: 'GET', url: '/api/rules?enabled=maybe' }],
    ['a forged cursor', { method: 'GET', url: '/api/rules?cursor=WyJjYW1lcmFzIiwiYSJd' }],
  ];
  for (const [name, request] of hostile) {
    test(`hostile input: ${name} → 4xx, never 500`, async () => {
      const r = await h.as(owner, request);
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${r.statusCode}: ${r.body.slice(0, 500)}`);
      assert.match((r.json() as ErrorBody).error.code, /^ICEBERG_ERR_/);
    });
  }

  test('the OpenAPI document describes every rule route, the rule body included', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<
          string,
          {
            summary?: string;
            tags?: string[];
            security?: unknown;
            requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
          }
        >
      >;
    };
    const ops = [
      ['/api/rules', 'get'],
      ['/api/rules', 'post'],
      ['/api/rules/{id}', 'get'],
      ['/api/rules/{id}', 'put'],
      ['/api/rules/{id}', 'patch'],
      ['/api/rules/{id}', 'delete'],
    ] as const;
    for (const [path, method] of ops) {
      const op = doc.paths[path]?.[method];
      assert.ok(op?.summary, `${method} ${path}`);
      assert.deepEqual(op.tags, ['rules']);
      assert.deepEqual(op.security, [{ bearer: [] }]);
    }
    const body = doc.paths['/api/rules']?.post?.requestBody?.content['application/json']?.schema;
    assert.ok(body?.properties?.trigger && body.properties.cameras, 'the rule body is documented');
  });
});

describe('ruleOf', () => {
  test('gives the evaluator a rule with its id, organisation and enabled column; null for a spec that no longer parses', () => {
    const parsed = parseRule(ruleInput(['cam-1']));
    assert.ok(parsed.ok);
    const record = {
      id: 'r1',
      orgId: 'org-a',
      name: 'x',
      enabled: false,
      cameraIds: ['cam-1'],
      spec: parsed.rule,
      createdAt: 1,
      updatedAt: 1,
    };
    const rule = ruleOf(record);
    assert.equal(rule?.id, 'r1');
    assert.equal(rule?.orgId, 'org-a');
    assert.equal(rule?.enabled, false);
    assert.equal(ruleOf({ ...record, spec: { name: 'broken' } }), null);
  });
});
