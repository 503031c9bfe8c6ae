import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RepeatFilter } from './repeat-filter.ts';

describe('repeat filter for log lines', () => {
  test('the same line passes once per window, then says how many copies were dropped', () => {
    let now = 0;
    const f = new RepeatFilter(10_000, () => now);
    assert.equal(f.pass('all broker connections are down'), 0);
    for (let i = 0; i < 500; i++) assert.equal(f.pass('all broker connections are down'), undefined);
    assert.equal(f.pass('broker transport failure'), 0, 'another line is not held back');
    now = 10_000;
    assert.equal(f.pass('all broker connections are down'), 500);
    assert.equal(f.pass('all broker connections are down'), undefined);
  });

  test('remembers a bounded number of lines', () => {
    const f = new RepeatFilter(10_000, () => 0, 2);
    f.pass('a');
    f.pass('b');
    f.pass('c'); // forgets a
    assert.equal(f.pass('a'), 0);
    assert.equal(f.pass('c'), undefined);
  });
});
