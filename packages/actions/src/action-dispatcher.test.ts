import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IcebergError, ManualClock } from '@iceberg/common';
import { attemptLog, sampleAlert, until } from '../test/fixtures.ts';
import { ActionDispatcher, defaultRetryPolicy, retryDelayMs } from './action-dispatcher.ts';
import type { ActionSpec, DeliveryResult, Notifier } from './notifier.ts';

const ok: DeliveryResult = { ok: true, statusCode: 200, error: null, retryable: false };
const transient: DeliveryResult = { ok: false, statusCode: 503, error: 'HTTP 503', retryable: true };
const permanent: DeliveryResult = { ok: false, statusCode: 404, error: 'HTTP 404', retryable: false };

/** A webhook notifier that answers from a script, one result per call (the last one repeats). */
function scripted(
  results: Array<DeliveryResult | (() => Promise<DeliveryResult>)>,
): Notifier & { calls: number } {
  const n = {
    type: 'webhook' as const,
    calls: 0,
    async deliver(): Promise<DeliveryResult> {
      const next = results[Math.min(n.calls, results.length - 1)]!;
      n.calls++;
      return typeof next === 'function' ? next() : next;
    },
  };
  return n;
}

const hook: ActionSpec = { type: 'webhook', url: 'https://example.com/hook?token=abc', secret: 's3cret' };
const noJitter = { initialDelayMs: 1000, maxDelayMs: 60_000, jitter: 0 };

describe('action dispatcher', () => {
  test('retries a transient failure with exponential backoff and records every attempt', async () => {
    const clock = new ManualClock(1_000_000);
    const log = attemptLog();
    const notifier = scripted([transient, transient, ok]);
    const d = new ActionDispatcher({ notifiers: [notifier], record: log.record, clock, retry: noJitter });
    const done = d.dispatch(sampleAlert(), [hook]);

    await until('first attempt', () => log.attempts.length === 1);
    assert.equal(d.pending(), 1);
    clock.advance(999);
    await new Promise((r) => setImmediate(r));
    assert.equal(notifier.calls, 1, 'not before the delay');
    clock.advance(1);
    await until('second attempt', () => log.attempts.length === 2);
    clock.advance(2000);
    const [result] = await done;

    assert.deepEqual(result, {
      action: 'webhook https://example.com/hook',
      type: 'webhook',
      outcome: 'delivered',
      ok: true,
      attempts: 3,
      statusCode: 200,
      error: null,
    });
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.outcome, a.at, a.nextAttemptAt, a.statusCode, a.error]),
      [
        [1, 'retrying', 1_000_000, 1_001_000, 503, 'HTTP 503'],
        [2, 'retrying', 1_001_000, 1_003_000, 503, 'HTTP 503'],
        [3, 'delivered', 1_003_000, null, 200, null],
      ],
    );
    for (const a of log.attempts) {
      assert.equal(a.alertId, 'alert-0001');
      assert.equal(a.orgId, 'org-1');
      assert.doesNotMatch(JSON.stringify(a), /s3cret|token/, 'no secret in records');
    }
    assert.equal(d.pending(), 0);
  });

  test('a permanent failure is attempted once', async () => {
    const log = attemptLog();
    const notifier = scripted([permanent]);
    const d = new ActionDispatcher({ notifiers: [notifier], record: log.record, clock: new ManualClock() });
    const [result] = await d.dispatch(sampleAlert(), [hook]);
    assert.equal(result!.outcome, 'failed');
    assert.equal(notifier.calls, 1);
    assert.deepEqual(
      log.attempts.map((a) => [a.attempt, a.ok, a.outcome, a.statusCode]),
      [[1, false, 'failed', 404]],
    );
  });

  test('gives up after the attempt limit', async () => {
    const clock = new ManualClock();
    const log = attemptLog();
    const d = new ActionDispatcher({
      notifiers: [scripted([transient])],
      record: log.record,
      clock,
      retry: { ...noJitter, attempts: 3 },
    });
    const done = d.dispatch(sampleAlert(), [hook]);
    for (let i = 1; i < 3; i++) {
      await until(`attempt ${i}`, () => log.attempts.length === i);
      clock.advance(60_000);
    }
    const [result] = await done;
    assert.equal(result!.attempts, 3);
    assert.deepEqual(
      log.attempts.map((a) => a.outcome),
      ['retrying', 'retrying', 'failed'],
    );
  });

  test("waits for the receiver's Retry-After, capped", async () => {
    const clock = new ManualClock();
    const log = attemptLog();
    const asks = (ms: number): DeliveryResult => ({ ...transient, statusCode: 429, retryAfterMs: ms });
    const d = new ActionDispatcher({
      notifiers: [scripted([asks(7000), asks(3_600_000), ok])],
      record: log.record,
      clock,
      retry: { ...noJitter, maxRetryAfterMs: 30_000 },
    });
    const done = d.dispatch(sampleAlert(), [hook]);
    await until('first attempt', () => log.attempts.length === 1);
    assert.equal(log.attempts[0]!.nextAttemptAt, 7000, 'Retry-After longer than the backoff is honoured');
    clock.advance(7000);
    await until('second attempt', () => log.attempts.length === 2);
    assert.equal(log.attempts[1]!.nextAttemptAt! - log.attempts[1]!.at, 30_000, 'an hour is capped');
    clock.advance(30_000);
    assert.equal((await done)[0]!.ok, true);
  });

  test('one failing action does not hold up another; a throwing notifier counts as a transient failure', async () => {
    const clock = new ManualClock();
    const log = attemptLog();
    const mail: Notifier = {
      type: 'email',
      deliver: async () => {
        throw new Error('boom');
      },
    };
    const d = new ActionDispatcher({
      notifiers: [scripted([ok]), mail],
      record: log.record,
      clock,
      retry: { ...noJitter, attempts: 2 },
    });
    const done = d.dispatch(sampleAlert(), [{ type: 'email', to: ['a@example.com'] }, hook]);
    await until('both first attempts', () => log.attempts.length === 2);
    assert.deepEqual(log.attempts.map((a) => [a.action, a.outcome]).sort(), [
      ['email a@example.com', 'retrying'],
      ['webhook https://example.com/hook', 'delivered'],
    ]);
    clock.advance(1000);
    const results = await done;
    assert.deepEqual(
      results.map((r) => [r.type, r.outcome, r.attempts]),
      [
        ['email', 'failed', 2],
        ['webhook', 'delivered', 1],
      ],
    );
    assert.match(results[0]!.error!, /email notifier failed: boom/);
  });

  test('an action without a notifier fails at once', async () => {
    const log = attemptLog();
    const d = new ActionDispatcher({ notifiers: [scripted([ok])], record: log.record });
    const [result] = await d.dispatch(sampleAlert(), [{ type: 'email', to: ['a@example.com'] }]);
    assert.equal(result!.outcome, 'failed');
    assert.match(result!.error!, /no notifier for "email"/);
    assert.equal(log.attempts.length, 1);
  });

  test('a failing record does not stop delivery', async () => {
    const d = new ActionDispatcher({
      notifiers: [scripted([ok])],
      record: async () => {
        throw new Error('database down');
      },
    });
    const [result] = await d.dispatch(sampleAlert(), [hook]);
    assert.equal(result!.ok, true);
  });

  test('close() abandons scheduled retries (recorded) and lets attempts in flight finish', async () => {
    const clock = new ManualClock();
    const log = attemptLog();
    let release: (r: DeliveryResult) => void = () => {};
    const slow = () => new Promise<DeliveryResult>((resolve) => (release = resolve));
    const waiting = scripted([transient, ok]);
    const inFlight: Notifier & { calls: number } = { ...scripted([slow]), type: 'email' };
    const d = new ActionDispatcher({
      notifiers: [waiting, inFlight],
      record: log.record,
      clock,
      retry: noJitter,
    });
    const done = d.dispatch(sampleAlert(), [hook, { type: 'email', to: ['a@example.com'] }]);
    await until('the webhook retry is scheduled', () => log.attempts.length === 1);
    assert.equal(d.pending(), 2);

    let closed = false;
    const closing = d.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, false, 'close waits for the attempt in flight');
    release(transient);
    await closing;
    clock.advance(60_000);

    const results = await done;
    assert.deepEqual(
      results.map((r) => [r.type, r.outcome, r.attempts]),
      [
        ['webhook', 'abandoned', 1],
        ['email', 'abandoned', 1],
      ],
    );
    assert.equal(waiting.calls, 1, 'the scheduled retry never ran');
    assert.deepEqual(
      log.attempts.map((a) => [a.action.split(' ')[0], a.attempt, a.outcome]),
      [
        ['webhook', 1, 'retrying'],
        ['webhook', 2, 'abandoned'],
        ['email', 1, 'abandoned'],
      ],
    );
    assert.match(log.attempts[1]!.error!, /closed before attempt 2.*HTTP 503/);
    assert.equal(d.pending(), 0);

    const [late] = await d.dispatch(sampleAlert(), [hook]);
    assert.equal(late!.outcome, 'abandoned');
    assert.equal(late!.attempts, 0);
  });

  test('rejects a bad configuration', () => {
    const n = scripted([ok]);
    const record = async () => {};
    assert.throws(() => new ActionDispatcher({ notifiers: [n, n], record }), IcebergError);
    assert.throws(() => new ActionDispatcher({ notifiers: [n], record, retry: { attempts: 0 } }), /attempts/);
    assert.throws(() => new ActionDispatcher({ notifiers: [n], record, retry: { jitter: 2 } }), /jitter/);
  });
});

describe('retry delay', () => {
  const p = { ...defaultRetryPolicy, jitter: 0.5 };
  test('doubles from the initial delay up to the cap, jitter shortens it by up to its fraction', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(p, n, 0)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
    );
    assert.equal(retryDelayMs(p, 1, 0.999999), 500);
    assert.equal(retryDelayMs(p, 3, 0.5), 3000);
  });
  test('a Retry-After beyond the backoff wins, up to its cap', () => {
    assert.equal(retryDelayMs(p, 1, 0, 10_000), 10_000);
    assert.equal(retryDelayMs(p, 1, 0, 10), 1000);
    assert.equal(retryDelayMs(p, 1, 0, 86_400_000), 300_000);
  });
});
