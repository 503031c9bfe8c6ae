import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DeadLetterV1, type DetectionFrameV1, examples } from '@iceberg/contracts';
import { Bus } from './bus.ts';
import { MemoryBus } from './memory-bus.ts';

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('typed Bus over the in-process transport', () => {
  test('a published detection arrives parsed, keyed by camera, with origin headers', async () => {
    const bus = new Bus(new MemoryBus());
    const got: Array<{ m: DetectionFrameV1; key: string; headers: Record<string, string> }> = [];
    await bus.subscribe(
      'detections',
      { group: 'server' },
      async (m, meta) => void got.push({ m, key: meta.key, headers: meta.headers }),
    );
    await bus.publish('detections', examples.detection);
    await until(() => got.length === 1);
    assert.deepEqual(got[0]!.m, examples.detection);
    assert.equal(got[0]!.key, 'acme/front-door');
    assert.deepEqual(got[0]!.headers, {
      'iceberg-schema': 'detection.v1',
      'iceberg-org': 'acme',
      'iceberg-device': 'edge-1',
    });
    await bus.close();
  });

  test('publishing an invalid message throws before anything is sent', async () => {
    const transport = new MemoryBus();
    const bus = new Bus(transport);
    const bad = { ...examples.detection, objects: [{ ...examples.detection.objects[0]!, score: 7 }] };
    await assert.rejects(bus.publish('detections', bad), /ICEBERG|score/);
    assert.equal(bus.counters.published, 0);
    await bus.close();
  });

  test('a malformed message is parked on the dead-letter topic and the consumer carries on', async () => {
    const transport = new MemoryBus();
    const bus = new Bus(transport);
    const good: DetectionFrameV1[] = [];
    const dead: DeadLetterV1[] = [];
    await bus.subscribe('detections', { group: 'server' }, async (m) => void good.push(m));
    await bus.subscribe(
      'deadLetters',
      { group: 'admin', fromBeginning: true },
      async (m) => void dead.push(m),
    );
    await transport.produce([
      {
        topic: 'detections',
        key: 'acme/front-door',
        value: Buffer.from('{"schema":"detection.v1"'),
        headers: {},
      },
      {
        topic: 'detections',
        key: 'acme/front-door',
        value: Buffer.from(JSON.stringify({ ...examples.detection, seq: -1 })),
        headers: {},
      },
    ]);
    await bus.publish('detections', examples.detection);
    await until(() => good.length === 1 && dead.length === 2);
    assert.equal(dead[0]!.reason, 'invalid');
    assert.match(dead[0]!.error, /not JSON/);
    assert.match(dead[1]!.error, /seq/);
    assert.equal(dead[1]!.topic, 'detections');
    assert.equal(bus.counters.invalid, 2);
    await bus.close();
  });

  test('a second group can skip malformed messages without parking them again', async () => {
    const transport = new MemoryBus();
    const bus = new Bus(transport);
    const dead: DeadLetterV1[] = [];
    await bus.subscribe('detections', { group: 'store' }, async () => {});
    await bus.subscribe('detections', { group: 'rules', deadLetterInvalid: false }, async () => {});
    await bus.subscribe(
      'deadLetters',
      { group: 'admin', fromBeginning: true },
      async (m) => void dead.push(m),
    );
    await transport.produce([{ topic: 'detections', key: 'k', value: Buffer.from('nope'), headers: {} }]);
    await until(() => bus.counters.invalid === 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.group, 'store');
    await bus.close();
  });

  test('a handler that keeps failing is retried, then dead-lettered, and the next message is processed', async () => {
    const bus = new Bus(new MemoryBus({ partitions: 1 }));
    let attempts = 0;
    const processed: number[] = [];
    const dead: DeadLetterV1[] = [];
    await bus.subscribe('detections', { group: 'server', maxAttempts: 3, retryDelayMs: 1 }, async (m) => {
      if (m.seq === 1) {
        attempts++;
        throw new Error('rule store unavailable');
      }
      processed.push(m.seq);
    });
    await bus.subscribe(
      'deadLetters',
      { group: 'admin', fromBeginning: true },
      async (m) => void dead.push(m),
    );
    await bus.publishMany('detections', [
      { ...examples.detection, seq: 1 },
      { ...examples.detection, seq: 2 },
    ]);
    await until(() => processed.length === 1 && dead.length === 1);
    assert.equal(attempts, 3);
    assert.deepEqual(processed, [2]);
    assert.equal(dead[0]!.reason, 'handler_failed');
    assert.match(dead[0]!.error, /rule store unavailable/);
    await bus.close();
  });

  test('a topic prefix applies to every topic on the transport', async () => {
    const transport = new MemoryBus();
    const bus = new Bus(transport, { topicPrefix: 'iceberg.' });
    assert.equal(bus.topicName('tracks'), 'iceberg.tracks');
    const raw: string[] = [];
    await transport.consume(
      { topics: ['iceberg.camera-status'], group: 'raw', fromBeginning: true },
      async (r) => void raw.push(r.topic),
    );
    await bus.publish('cameraStatus', examples.cameraStatus);
    await until(() => raw.length === 1);
    assert.deepEqual(raw, ['iceberg.camera-status']);
    await bus.close();
  });
});
