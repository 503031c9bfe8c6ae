import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, silentLogger } from '@iceberg/common';
import { ServerConfig } from '@iceberg/config';
import { createStore, defaultPgliteTemplatePath, openDatabase, type Store } from '@iceberg/store';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { ApiDeps } from '../src/api-deps.ts';
import { hashPassword } from '../src/auth/passwords.ts';
import { buildApp } from '../src/http/app.ts';
import { registerAuthRoutes } from '../src/http/routes/auth.routes.ts';
import { type CameraRouteHooks, registerCameraRoutes } from '../src/http/routes/cameras.routes.ts';
import { type RuleRouteHooks, registerRuleRoutes } from '../src/http/routes/rules.routes.ts';
import { WsHub } from '../src/live/ws-hub.ts';
import { createMetrics } from '../src/metrics.ts';

export const password = 'correct horse battery';

type Response = Awaited<ReturnType<FastifyInstance['inject']>>;

export interface TenantHarness {
  app: FastifyInstance;
  deps: ApiDeps;
  store: Store;
  clock: ManualClock;
  orgs: { a: string; b: string };
  /** Calls of the change hooks, in order. */
  changes: { rules: string[]; cameras: Array<[string, string]> };
  login(email: string): Promise<string>;
  as(email: string, request: InjectOptions): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The auth, camera and rule routes on an in-memory PGlite, seeded like `api-harness.ts`: two
 * organisations, each with `<role>@<org>.test` for owner, admin and viewer. Only these three
 * route modules are registered, with the config given (e.g. a low login limit).
 */
export async function createTenantHarness(
  config: { loginAttemptsPerMinute?: number; tokenTtlHours?: number } = {},
): Promise<TenantHarness> {
  const database = await openDatabase({ pgliteTemplate: defaultPgliteTemplatePath() });
  const store = createStore(database.db);
  const hub = new WsHub();
  const clock = new ManualClock(Date.UTC(2025, 0, 6, 12));
  const changes: TenantHarness['changes'] = { rules: [], cameras: [] };
  const deps: ApiDeps & CameraRouteHooks & RuleRouteHooks = {
    store,
    hub,
    metrics: createMetrics(),
    config: ServerConfig.parse({ auth: { loginAttemptsPerMinute: 1000, ...config } }),
    dataDir: mkdtempSync(join(tmpdir(), 'iceberg-api-')),
    clock,
    logger: silentLogger(),
    onRulesChanged: (orgId) => changes.rules.push(orgId),
    onCameraChanged: (orgId, cameraId) => changes.cameras.push([orgId, cameraId]),
  };
  const hash = await hashPassword(password);
  const orgs = { a: 'org-a', b: 'org-b' };
  for (const org of Object.values(orgs)) {
    await store.organisations.create({ id: org, name: `Organisation ${org}` });
    for (const role of ['owner', 'admin', 'viewer'] as const) {
      await store.users.create({
        orgId: org,
        email: `${role}@${org}.test`,
        name: `${role} of ${org}`,
        role,
        passwordHash: hash,
      });
    }
  }
  const app = await buildApp({ logger: deps.logger }, async (a) => {
    await registerAuthRoutes(a, deps);
    await registerCameraRoutes(a, deps);
    await registerRuleRoutes(a, deps);
  });
  const tokens = new Map<string, string>();
  const login = async (email: string) => {
    const r = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } });
    if (r.statusCode !== 200) throw new Error(`login of ${email} failed: ${r.statusCode} ${r.body}`);
    const token = (r.json() as { token: string }).token;
    tokens.set(email, token);
    return token;
  };
  return {
    app,
    deps,
    store,
    clock,
    orgs,
    changes,
    login,
    as: async (email, request) => {
      const token = tokens.get(email) ?? (await login(email));
      return app.inject({
        ...request,
        headers: { ...(request.headers ?? {}), authorization: `Bearer ${token}` },
      });
    },
    close: async () => {
      await app.close();
      hub.close();
      await database.close();
    },
  };
}

/** A valid rule spec input watching `cameras`. */
export function ruleInput(
  cameras: string[],
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 'Person at the door',
    cameras,
    classes: ['person'],
    trigger: {
      type: 'zone',
      on: 'enter',
      polygon: [
        [0.1, 0.1],
        [0.9, 0.1],
        [0.9, 0.9],
      ],
    },
    ...overrides,
  };
}
