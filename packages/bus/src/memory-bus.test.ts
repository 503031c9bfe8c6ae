import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBus } from './memory-bus.ts';
import { murmur2, partitionFor } from './partitioner.ts';
import type { IncomingRecord } from './transport.ts';

const rec = (key: string, n: number) => ({ topic: 't', key, value: Buffer.from(String(n)), headers: {} });
const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('in-process bus (Kafka semantics)', () => {
  test('hashes keys exactly as the Kafka Java client does (murmur2)', () => {
    // Reference values generated with org.apache.kafka.common.utils.Utils.murmur2.
    const reference: Record<string, number> = {
      '0': 971027396,
      '1': -1993445489,
      '128': -326012175,
      '2187': -1508407203,
      '100:48069': 1009543857,
    };
    for (const [key, hash] of Object.entries(reference)) assert.equal(murmur2(Buffer.from(key)), hash, key);
  });

  test('spreads keys over partitions with murmur2, the same key always to the same partition', () => {
    const seen = new Set(Array.from({ length: 200 }, (_, i) => partitionFor(`cam-${i}`, 8)));
    assert.equal(seen.size, 8, 'keys spread over every partition');
    assert.equal(partitionFor('acme/front-door', 8), partitionFor('acme/front-door', 8));
  });

  test('one group sees every message once, in order per key', async () => {
    const bus = new MemoryBus();
    const got: string[] = [];
    await bus.consume({ topics: ['t'], group: 'g', fromBeginning: true }, async (r) => {
      got.push(`${r.key}:${r.value}`);
    });
    await bus.produce([rec('a', 1), rec('b', 1), rec('a', 2), rec('b', 2), rec('a', 3)]);
    await until(() => got.length === 5);
    assert.deepEqual(
      got.filter((s) => s.startsWith('a')),
      ['a:1', 'a:2', 'a:3'],
    );
    assert.deepEqual(
      got.filter((s) => s.startsWith('b')),
      ['b:1', 'b:2'],
    );
    await bus.close();
  });

  test('two groups each get everything; members of one group share it', async () => {
    const bus = new MemoryBus({ partitions: 4 });
    const g1: IncomingRecord[] = [];
    const m1: IncomingRecord[] = [];
    const m2: IncomingRecord[] = [];
    await bus.consume({ topics: ['t'], group: 'g1', fromBeginning: true }, async (r) => void g1.push(r));
    await bus.consume({ topics: ['t'], group: 'g2', fromBeginning: true }, async (r) => void m1.push(r));
    await bus.consume({ topics: ['t'], group: 'g2', fromBeginning: true }, async (r) => void m2.push(r));
    await bus.produce(Array.from({ length: 100 }, (_, i) => rec(`k${i}`, i)));
    await until(() => g1.length === 100 && m1.length + m2.length === 100);
    assert.ok(m1.length > 0 && m2.length > 0, 'both members of g2 got a share');
    const p1 = new Set(m1.map((r) => r.partition));
    assert.ok(
      m2.every((r) => !p1.has(r.partition)),
      'a partition belongs to one member',
    );
    await bus.close();
  });

  test('a failing handler gets the same message again; nothing after it overtakes it', async () => {
    const bus = new MemoryBus({ partitions: 1, redeliveryDelayMs: 5 });
    const got: string[] = [];
    let failures = 2;
    await bus.consume({ topics: ['t'], group: 'g', fromBeginning: true }, async (r) => {
      if (String(r.value) === '1' && failures-- > 0) throw new Error('database down');
      got.push(String(r.value));
    });
    await bus.produce([rec('a', 1), rec('a', 2)]);
    await until(() => got.length === 2);
    assert.deepEqual(got, ['1', '2']);
    await bus.close();
  });

  test('a new group without fromBeginning sees only new messages; a group resumes where it committed', async () => {
    const bus = new MemoryBus({ partitions: 2 });
    await bus.produce([rec('a', 1)]);
    const late: string[] = [];
    await bus.consume(
      { topics: ['t'], group: 'late', fromBeginning: false },
      async (r) => void late.push(String(r.value)),
    );
    const first: string[] = [];
    const sub = await bus.consume(
      { topics: ['t'], group: 'g', fromBeginning: true },
      async (r) => void first.push(String(r.value)),
    );
    await until(() => first.length === 1);
    await sub.close();
    await bus.produce([rec('a', 2), rec('a', 3)]);
    const resumed: string[] = [];
    await bus.consume(
      { topics: ['t'], group: 'g', fromBeginning: true },
      async (r) => void resumed.push(String(r.value)),
    );
    await until(() => resumed.length === 2 && late.length === 2);
    assert.deepEqual(resumed, ['2', '3']);
    assert.deepEqual(late, ['2', '3']);
    assert.equal(bus.lag('g'), 0);
    await bus.close();
  });

  test('when a member leaves, the others take over its partitions without loss', async () => {
    const bus = new MemoryBus({ partitions: 4 });
    const a: string[] = [];
    const b: string[] = [];
    const subA = await bus.consume(
      { topics: ['t'], group: 'g', fromBeginning: true },
      async (r) => void a.push(String(r.value)),
    );
    await bus.consume(
      { topics: ['t'], group: 'g', fromBeginning: true },
      async (r) => void b.push(String(r.value)),
    );
    await bus.produce(Array.from({ length: 20 }, (_, i) => rec(`k${i}`, i)));
    await until(() => a.length + b.length === 20);
    await subA.close();
    await bus.produce(Array.from({ length: 20 }, (_, i) => rec(`k${i}`, 100 + i)));
    await until(() => a.length + b.length === 40);
    assert.equal(new Set([...a, ...b]).size, 40);
    await bus.close();
  });

  test('a closed bus refuses to publish with a clear error', async () => {
    const bus = new MemoryBus();
    await bus.close();
    await assert.rejects(bus.produce([rec('a', 1)]), /closed/);
  });
});
