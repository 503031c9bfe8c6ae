import { createServer } from 'node:net';
import { AlertV1 } from '@iceberg/contracts';
import type { RecordedAttempt } from '../src/index.ts';

/** A valid alert, parsed through the contract so that the fixture cannot drift from it. */
export function sampleAlert(overrides: Partial<AlertV1> = {}): AlertV1 {
  return AlertV1.parse({
    schema: 'alert.v1',
    id: 'alert-0001',
    orgId: 'org-1',
    ruleId: 'rule-7',
    ruleName: 'Loading bay',
    deviceId: 'dev-1',
    cameraId: 'front-door',
    reason: 'enter',
    class: 'person',
    trackIds: ['t-42'],
    score: 0.87,
    box: [0.1, 0.2, 0.3, 0.4],
    at: Date.UTC(2025, 0, 15, 9, 30, 5),
    createdAt: Date.UTC(2025, 0, 15, 9, 30, 6),
    status: 'new',
    snapshot: 'snapshots/org-1/alert-0001.jpg',
    message: 'person entered Loading bay on front-door',
    dedupeKey: 'rule-7:t-42:enter',
    ...overrides,
  });
}

/** A `record` function that keeps the attempts in memory. */
export function attemptLog(): { attempts: RecordedAttempt[]; record: (a: RecordedAttempt) => Promise<void> } {
  const attempts: RecordedAttempt[] = [];
  return {
    attempts,
    record: async (a) => {
      attempts.push(a);
    },
  };
}

/** Waits (in real time) until `cond` holds. */
export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port on 127.0.0.1 with nothing listening. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}
