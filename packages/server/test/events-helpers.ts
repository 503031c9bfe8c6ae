/**
 * A test API with the event, alert, dead-letter, live and metrics routes on an in-memory PGlite,
 * two organisations (org-a, org-b) with an owner, an admin and a viewer each
 * (`<role>@<org>.test`), and sessions made directly in the store (no login route needed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ManualClock, silentLogger } from '@iceberg/common';
import { ServerConfig } from '@iceberg/config';
import type { AlertV1, SnapshotRefV1, TrackEventV1 } from '@iceberg/contracts';
import {
  type AlertInput,
  createStore,
  type DeadLetterInput,
  defaultPgliteTemplatePath,
  openDatabase,
  type Store,
} from '@iceberg/store';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { ApiDeps } from '../src/api-deps.ts';
import { newToken } from '../src/auth/tokens.ts';
import { buildApp } from '../src/http/app.ts';
import { registerAlertRoutes } from '../src/http/routes/alerts.routes.ts';
import { registerDeadLetterRoutes } from '../src/http/routes/dead-letters.routes.ts';
import { registerEventRoutes } from '../src/http/routes/events.routes.ts';
import { registerLiveRoutes } from '../src/http/routes/live.routes.ts';
import { registerMetricsRoutes } from '../src/http/routes/metrics.routes.ts';
import { WsHub } from '../src/live/ws-hub.ts';
import { createMetrics } from '../src/metrics.ts';

export const roles = ['owner', 'admin', 'viewer'] as const;
export type TestRole = (typeof roles)[number];

export interface EventsTestApp {
  app: FastifyInstance;
  deps: ApiDeps;
  store: Store;
  clock: ManualClock;
  orgs: { a: 'org-a'; b: 'org-b' };
  /** The bearer token of `email` (`<role>@<org>.test`). */
  token(email: string): string;
  /** The user id of `email`. */
  userId(email: string): string;
  /** `inject` with the token of `email`. */
  as(email: string, request: InjectOptions): Promise<LightMyRequestResponse>;
  /** Writes a file under the data directory (e.g. a snapshot) and returns its bytes. */
  writeDataFile(relativePath: string, bytes?: Buffer): Buffer;
  /** Starts listening on 127.0.0.1 (once) and returns `ws://127.0.0.1:<port>`. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export const T0 = 1_764_000_000_000;

/** A small but real JPEG header + payload, distinct per `seed`. */
export function jpegBytes(seed: string): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    Buffer.from(`iceberg-test-${seed}`),
    Buffer.from([0xff, 0xd9]),
  ]);
}

export function snapshotRef(ref: string, capturedAt = T0): SnapshotRefV1 {
  return { ref, capturedAt, score: 0.9, box: [0.1, 0.1, 0.2, 0.3], width: 768, height: 576 };
}

export interface TrackSeed {
  orgId: string;
  cameraId: string;
  trackId: string;
  firstSeenAt: number;
  lastSeenAt?: number;
  ended?: boolean;
  class?: TrackEventV1['class'];
  deviceId?: string;
  snapshot?: SnapshotRefV1 | null;
}

/** A track event (TrackUpdated, or TrackEnded when `ended`). */
export function trackEvent(s: TrackSeed): TrackEventV1 {
  const lastSeenAt = s.lastSeenAt ?? s.firstSeenAt + 5_000;
  const base = {
    schema: 'track.v1' as const,
    orgId: s.orgId,
    deviceId: s.deviceId ?? `edge-${s.orgId}`,
    cameraId: s.cameraId,
    trackId: s.trackId,
    at: lastSeenAt + 1,
    class: s.class ?? 'person',
    score: 0.8,
    box: [0.1, 0.2, 0.3, 0.4] as [number, number, number, number],
    firstSeenAt: s.firstSeenAt,
    lastSeenAt,
    stationary: false,
    snapshot: s.snapshot ?? null,
  };
  return s.ended
    ? { ...base, type: 'TrackEnded', eventId: `${s.trackId}:TrackEnded:0`, at: lastSeenAt + 2_000, hits: 7 }
    : { ...base, type: 'TrackUpdated', eventId: `${s.trackId}:TrackUpdated:1` };
}

export interface AlertSeed {
  orgId: string;
  id: string;
  at: number;
  cameraId?: string;
  ruleId?: string;
  status?: AlertV1['status'];
  snapshot?: string | null;
}

export function alertInput(s: AlertSeed): AlertInput {
  const cameraId = s.cameraId ?? 'front-door';
  const ruleId = s.ruleId ?? 'rule-1';
  return {
    id: s.id,
    orgId: s.orgId,
    ruleId,
    ruleName: `Rule ${ruleId}`,
    deviceId: `edge-${s.orgId}`,
    cameraId,
    reason: 'enter',
    class: 'person',
    trackIds: ['t-1'],
    score: 0.9,
    box: [0.1, 0.2, 0.3, 0.4],
    at: s.at,
    createdAt: s.at + 100,
    status: s.status ?? 'new',
    snapshot: s.snapshot ?? null,
    message: `person entered zone on ${cameraId}`,
    dedupeKey: `${ruleId}:${s.id}`,
  };
}

export function deadLetter(topic: string, at: number, value = '{"broken":'): DeadLetterInput {
  return {
    topic,
    key: 'cam-1',
    value,
    encoding: 'utf8',
    headers: { 'content-type': 'application/json' },
    reason: 'invalid',
    error: 'message does not match detection.v1',
    group: 'iceberg-server',
    at,
  };
}

export async function createEventsApp(): Promise<EventsTestApp> {
  const database = await openDatabase({ pgliteTemplate: defaultPgliteTemplatePath() });
  const store = createStore(database.db);
  const dataDir = mkdtempSync(join(tmpdir(), 'iceberg-events-'));
  const hub = new WsHub();
  const clock = new ManualClock(T0 + 86_400_000);
  const deps: ApiDeps = {
    store,
    hub,
    metrics: createMetrics(clock),
    config: ServerConfig.parse({}),
    dataDir,
    clock,
    logger: silentLogger(),
  };
  const orgs = { a: 'org-a', b: 'org-b' } as const;
  const tokens = new Map<string, string>();
  const users = new Map<string, string>();
  for (const org of Object.values(orgs)) {
    await store.organisations.create({ id: org, name: `Organisation ${org}` });
    for (const role of roles) {
      const email = `${role}@${org}.test`;
      const user = await store.users.create({
        orgId: org,
        email,
        name: `${role} of ${org}`,
        role,
        passwordHash: '$argon2id$not-used-in-these-tests',
      });
      const { token, hash } = newToken();
      await store.sessions.create({
        orgId: org,
        userId: user.id,
        tokenHash: hash,
        expiresAt: clock.now() + 3_600_000,
      });
      tokens.set(email, token);
      users.set(email, user.id);
    }
  }
  const app = await buildApp({ logger: deps.logger }, async (scoped) => {
    await registerEventRoutes(scoped, deps);
    await registerAlertRoutes(scoped, deps);
    await registerDeadLetterRoutes(scoped, deps);
    await registerLiveRoutes(scoped, deps);
    await registerMetricsRoutes(scoped, deps);
  });
  const token = (email: string) => {
    const t = tokens.get(email);
    if (!t) throw new Error(`no test user ${email}`);
    return t;
  };
  let base: string | null = null;
  return {
    app,
    deps,
    store,
    clock,
    orgs,
    token,
    userId: (email) => {
      const id = users.get(email);
      if (!id) throw new Error(`no test user ${email}`);
      return id;
    },
    as: (email, request) =>
      app.inject({
        ...request,
        headers: { ...(request.headers ?? {}), authorization: `Bearer ${token(email)}` },
      }),
    writeDataFile: (relativePath, bytes = jpegBytes(relativePath)) => {
      const path = join(dataDir, relativePath);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      return bytes;
    },
    listen: async () => {
      if (base === null) {
        await app.listen({ host: '127.0.0.1', port: 0 });
        base = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      }
      return base;
    },
    close: async () => {
      hub.close();
      await app.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
