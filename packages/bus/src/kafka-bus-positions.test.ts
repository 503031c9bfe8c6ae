import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KafkaBus } from './kafka-bus.ts';
import type { KafkaSettings } from './kafka-module.ts';

/**
 * Where a consumer group starts on a partition it is given (`KafkaBus.startAtEnd`), with a
 * stand-in for the client package: what the broker answers is set per test, and the test calls
 * the rebalance callback as the client would. (The real client against a broker is in
 * test/kafka-bus.test.ts.)
 */
type Offsets = Array<{ topic: string; partition: number; offset?: number } | Error>;
type Rebalance = (err: { code: number }, assignment: Array<{ topic: string; partition: number }>) => unknown;

function fakeKafka(committed: { err?: Error; offsets?: Offsets }, highOffset = 7) {
  const calls = { watermarks: 0, commits: [] as unknown[] };
  let rebalance: Rebalance | undefined;
  const consumer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    subscribe: async () => undefined,
    run: async () => undefined,
    commitOffsets: async (offsets: unknown) => void calls.commits.push(offsets),
    _getInternalClient: () => ({
      committed: (_tp: unknown, _ms: number, cb: (err: unknown, offsets?: Offsets) => void) =>
        setImmediate(() => cb(committed.err, committed.offsets)),
      queryWatermarkOffsets: (
        _t: string,
        _p: number,
        _ms: number,
        cb: (err: unknown, w: { highOffset: number; lowOffset: number }) => void,
      ) => {
        calls.watermarks++;
        setImmediate(() => cb(null, { highOffset, lowOffset: 0 }));
      },
    }),
  };
  const module = {
    KafkaJS: {
      Kafka: class {
        producer() {
          throw new Error('not used');
        }
        consumer(config: KafkaSettings) {
          rebalance = config.rebalance_cb as Rebalance;
          return consumer;
        }
      },
    },
    librdkafkaVersion: 'fake',
    features: [],
  };
  const bus = new KafkaBus({ brokers: ['127.0.0.1:9'], loadModule: () => module });
  return {
    bus,
    calls,
    assign: async (assignment: Array<{ topic: string; partition: number }>) => {
      await bus.consume({ group: 'g', topics: ['t'], fromBeginning: false }, async () => undefined);
      return rebalance!({ code: -175 }, assignment);
    },
  };
}

const both = [
  { topic: 't', partition: 0 },
  { topic: 't', partition: 1 },
];

describe('KafkaBus: where a group starts on its partitions', () => {
  test('a partition never committed starts at its end, committed at once; a committed one resumes', async () => {
    const k = fakeKafka({
      offsets: [
        { topic: 't', partition: 0, offset: 42 },
        { topic: 't', partition: 1 },
      ],
    });
    const positioned = await k.assign(both);
    assert.deepEqual(positioned, [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1, offset: 7 },
    ]);
    await k.bus.ready(1000);
    assert.deepEqual(k.calls.commits, [[{ topic: 't', partition: 1, offset: '7' }]]);
  });

  test('a partition whose lookup failed is not taken for "never committed": the client resumes it itself', async () => {
    // What the client returns when the coordinator cannot answer for a partition (just after the
    // brokers come back): an Error in the partition's place. Skipping to the end there would lose
    // everything produced while they were away.
    const k = fakeKafka({
      offsets: [{ topic: 't', partition: 0, offset: 42 }, new Error('Broker: Coordinator load in progress')],
    });
    assert.equal(await k.assign(both), undefined);
    await k.bus.ready(1000);
    assert.deepEqual(k.calls, { watermarks: 0, commits: [] });
  });

  test('a failed lookup leaves the positions to the client', async () => {
    const k = fakeKafka({ err: new Error('Local: Timed out') });
    assert.equal(await k.assign(both), undefined);
    await k.bus.ready(1000);
    assert.deepEqual(k.calls, { watermarks: 0, commits: [] });
  });
});
