import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BoundedQueue } from './bounded-queue.ts';

describe('bounded queue', () => {
  test('keeps order, and push waits while the queue is full', async () => {
    const q = new BoundedQueue<number>(2);
    await q.push(1);
    await q.push(2);
    let third = false;
    const pushing = q.push(3).then(() => {
      third = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(third, false, 'the producer waits for space');
    assert.equal(await q.shift(), 1);
    await pushing;
    assert.equal(third, true);
    assert.deepEqual([await q.shift(), await q.shift()], [2, 3]);
  });

  test('a waiting consumer gets the next item; after close it drains, then gets undefined', async () => {
    const q = new BoundedQueue<string>(1);
    const next = q.shift();
    await q.push('a');
    assert.equal(await next, 'a');
    await q.push('b');
    q.close();
    assert.equal(await q.shift(), 'b');
    assert.equal(await q.shift(), undefined);
    await assert.rejects(q.push('c'), /closed/);
  });
});
