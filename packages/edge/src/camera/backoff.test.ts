import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.ts';

const o = { initialMs: 1000, maxMs: 30_000, jitter: 0.2 };

test('doubles from the initial delay up to the cap', () => {
  const mid = () => 0.5; // no jitter
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n, o, mid)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
});

test('jitter spreads retries by ±20% and never exceeds the cap', () => {
  assert.equal(
    backoffDelay(1, o, () => 0),
    800,
  );
  assert.equal(
    backoffDelay(1, o, () => 0.999999),
    1200,
  );
  assert.equal(
    backoffDelay(10, o, () => 0.999999),
    30_000,
  );
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3, o)));
  assert.ok(seen.size > 5, 'random delays differ');
  for (const d of seen) assert.ok(d >= 3200 && d <= 4800);
});
