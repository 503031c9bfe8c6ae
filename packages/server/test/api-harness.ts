import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActionDispatcher } from '@iceberg/actions';
import { type Clock, ManualClock, silentLogger } from '@iceberg/common';
import { ServerConfig } from '@iceberg/config';
import { createStore, defaultPgliteTemplatePath, openDatabase, type Store } from '@iceberg/store';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { AlertService, type AlertServiceOptions } from '../src/alerts/alert-service.ts';
import type { ApiDeps } from '../src/api-deps.ts';
import { hashPassword } from '../src/auth/passwords.ts';
import { buildApi } from '../src/http/api.ts';
import { WsHub } from '../src/live/ws-hub.ts';
import { createMetrics } from '../src/metrics.ts';

export const password = 'correct horse battery';

export interface Harness {
  app: FastifyInstance;
  deps: ApiDeps;
  store: Store;
  /** Two organisations, each with an owner, an admin and a viewer (e-mail `<role>@<org>.test`). */
  orgs: { a: string; b: string };
  /** Logs in and returns the bearer token. */
  login(email: string): Promise<string>;
  /** `inject` with the token of `email`. */
  as(email: string, request: InjectOptions): Promise<Awaited<ReturnType<FastifyInstance['inject']>>>;
  close(): Promise<void>;
}

/** A real API on an in-memory PGlite, seeded with two organisations and their users. */
export async function createHarness(): Promise<Harness> {
  const database = await openDatabase({ pgliteTemplate: defaultPgliteTemplatePath() });
  const store = createStore(database.db);
  const dataDir = mkdtempSync(join(tmpdir(), 'iceberg-api-'));
  const hub = new WsHub();
  const deps: ApiDeps = {
    store,
    hub,
    metrics: createMetrics(),
    config: ServerConfig.parse({ auth: { loginAttemptsPerMinute: 1000 } }),
    dataDir,
    clock: new ManualClock(Date.now()),
    logger: silentLogger(),
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
  const app = await buildApi(deps);
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
    orgs,
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

/** The alert service over the harness's store and hub, with no actions to run. */
export function harnessAlertService(
  h: Harness,
  clock: Clock,
  extra: Partial<AlertServiceOptions> = {},
): AlertService {
  return new AlertService({
    store: h.store,
    hub: h.deps.hub,
    metrics: h.deps.metrics,
    dispatcher: new ActionDispatcher({
      notifiers: [],
      record: async () => undefined,
      logger: silentLogger(),
    }),
    clock,
    logger: silentLogger(),
    dataDir: h.deps.dataDir,
    ...extra,
  });
}
