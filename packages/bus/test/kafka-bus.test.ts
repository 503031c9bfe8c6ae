import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bus, KafkaBus, partitionFor } from '@iceberg/bus';
import {
  type CommandV1,
  type DetectionFrameV1,
  examples,
  headerNames,
  type TrackEventV1,
  topics,
} from '@iceberg/contracts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { kcat, MockKafkaCluster, mockClusterSettings, repoRoot, waitFor } from './kafka-mock-cluster.ts';

/**
 * The Kafka adapter against a real Kafka-protocol broker: librdkafka's mock cluster with 3
 * brokers, and Debian's kcat as an independent client.
 */
let cluster: MockKafkaCluster;
const buses: Bus[] = [];
const prefix = 'iceberg.';
const PARTITIONS = 6;

function kafkaBus(): Bus {
  const transport = new KafkaBus({
    brokers: cluster.brokers,
    clientId: 'iceberg-test',
    settings: mockClusterSettings,
  });
  const bus = new Bus(transport, { topicPrefix: prefix });
  buses.push(bus);
  return bus;
}
const kafkaOf = (bus: Bus) => bus.transport as KafkaBus;

function detection(cameraId: string, seq: number): DetectionFrameV1 {
  return { ...examples.detection, cameraId, seq, capturedAt: 1_700_000_000_000 + seq };
}

before(async () => {
  cluster = await MockKafkaCluster.start(3);
  await cluster.createIcebergTopics(prefix, PARTITIONS);
});

after(async () => {
  await Promise.all(buses.map((b) => b.close().catch(() => undefined)));
  await cluster?.stop();
});

describe('Kafka bus (mock cluster, 3 brokers)', () => {
  test('publishes typed messages with schema, organisation and device headers, keyed and partitioned like the Java client', async () => {
    const producer = kafkaBus();
    const messages = Array.from({ length: 20 }, (_, i) => detection(`cam-${i % 4}`, i));
    await producer.publishMany('detections', messages);
    const out = kcat([
      '-b',
      cluster.bootstrap,
      '-C',
      '-t',
      `${prefix}detections`,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%p\t%k\t%h\t%s\n',
    ]);
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.equal(rows.length, 20);
    for (const [partition, key, headers, value] of rows) {
      const m = JSON.parse(value!) as DetectionFrameV1;
      assert.equal(key, `${m.orgId}/${m.cameraId}`);
      assert.equal(Number(partition), partitionFor(key!, PARTITIONS), 'murmur2, as the Java client');
      assert.match(headers!, new RegExp(`${headerNames.schema}=detection\\.v1`));
      assert.match(headers!, new RegExp(`${headerNames.org}=${m.orgId}`));
      assert.match(headers!, new RegExp(`${headerNames.device}=${m.deviceId}`));
    }
    // Per camera, kcat sees them in publishing order.
    const cam1 = rows.map((r) => JSON.parse(r[3]!) as DetectionFrameV1).filter((m) => m.cameraId === 'cam-1');
    assert.deepEqual(
      cam1.map((m) => m.seq),
      [1, 5, 9, 13, 17],
    );
  });

  test('kcat reads every topic and its JSON validates against the exported schemas', async () => {
    const bus = kafkaBus();
    await bus.publish('tracks', examples.trackStarted);
    await bus.publish('cameraStatus', examples.cameraStatus);
    await bus.publish('deviceStatus', {
      ...examples.deviceStatus,
      outbox: { pendingMessages: 3, pendingBytes: 900, oldestPendingAt: 1_700_000_000_000, shed: 0 },
    });
    await bus.publish('commandAcks', {
      schema: 'command-ack.v1',
      orgId: 'acme',
      deviceId: 'edge-1',
      commandId: 'cmd-1',
      cameraId: 'front-door',
      streamId: 'live-1',
      at: 1_764_000_000_000,
      status: 'started',
    });
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    for (const name of ['tracks', 'cameraStatus', 'deviceStatus', 'commandAcks', 'detections'] as const) {
      const spec = topics[name];
      const schema = JSON.parse(
        readFileSync(join(repoRoot, 'packages/contracts/schemas', `${spec.schemaName}.json`), 'utf8'),
      ) as object;
      const validate = ajv.compile(schema);
      const lines = kcat([
        '-b',
        cluster.bootstrap,
        '-C',
        '-t',
        prefix + spec.name,
        '-o',
        'beginning',
        '-e',
        '-q',
      ])
        .trim()
        .split('\n');
      assert.ok(lines.length > 0 && lines[0] !== '', `${spec.name} has messages`);
      for (const line of lines)
        assert.ok(validate(JSON.parse(line)), `${spec.name}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  test('a malformed message goes to the dead-letter topic and the consumer carries on', async () => {
    const bus = kafkaBus();
    const seen: number[] = [];
    await bus.subscribe('tracks', { group: 'dl-test', maxAttempts: 1 }, async (e) => {
      seen.push(e.at);
    });
    await kafkaOf(bus).ready();
    const before = seen.length;
    // Not JSON, and JSON of the wrong shape, produced by another client.
    kcat(
      ['-b', cluster.bootstrap, '-P', '-t', `${prefix}tracks`, '-k', 'acme/cam-x', '-K', '\t'],
      'acme/cam-x\t{"schema":"track.v1","broken":\nacme/cam-x\tnot json at all\n',
    );
    const good = { ...examples.trackStarted, at: examples.trackStarted.at + 99 };
    await bus.publish('tracks', good);
    await waitFor('the valid message after the bad ones', () => seen.includes(good.at));
    assert.equal(seen.length, before + 1);
    const letters = await waitFor('two dead letters', () => {
      const out = kcat([
        '-b',
        cluster.bootstrap,
        '-C',
        '-t',
        `${prefix}dead-letters`,
        '-o',
        'beginning',
        '-e',
        '-q',
      ]).trim();
      const list = out
        ? out.split('\n').map((l) => JSON.parse(l) as { reason: string; value: string; group: string })
        : [];
      return list.length >= 2 ? list : undefined;
    });
    assert.deepEqual(
      letters.map((l) => [l.reason, l.value, l.group]),
      [
        ['invalid', '{"schema":"track.v1","broken":', 'dl-test'],
        ['invalid', 'not json at all', 'dl-test'],
      ],
    );
    assert.equal(bus.counters.deadLettered, 2);
  });

  test('a command produced with kcat reaches the addressed device and no other', async () => {
    // Each device consumes the commands topic in its own group and acts only on its own id.
    const received: Record<string, CommandV1[]> = { 'edge-a': [], 'edge-b': [] };
    const devices = ['edge-a', 'edge-b'].map((id) => ({ id, bus: kafkaBus() }));
    for (const d of devices)
      await d.bus.subscribe('commands', { group: `iceberg-device-acme-${d.id}` }, async (c) => {
        if (c.deviceId === d.id && c.orgId === 'acme') received[d.id]!.push(c);
      });
    await Promise.all(devices.map((d) => kafkaOf(d.bus).ready()));
    const command: CommandV1 = {
      schema: 'command.v1',
      type: 'StartStream',
      orgId: 'acme',
      deviceId: 'edge-b',
      commandId: 'cmd-kcat-1',
      issuedAt: 1_764_000_000_000,
      cameraId: 'front-door',
      streamId: 'live-1',
      publishUrl: 'rtmp://127.0.0.1:1935/live/live-1?key=secret',
      annotated: false,
      ttlSeconds: 30,
    };
    kcat(
      [
        '-b',
        cluster.bootstrap,
        '-P',
        '-t',
        `${prefix}commands`,
        '-K',
        '\t',
        '-H',
        `${headerNames.schema}=command.v1`,
      ],
      `acme/edge-b\t${JSON.stringify(command)}\n`,
    );
    await waitFor('edge-b gets the command', () => received['edge-b']!.length === 1);
    assert.equal(received['edge-b']![0]!.commandId, 'cmd-kcat-1');
    // A later command to edge-a: once it is there, edge-a has had every chance to see the first.
    const second = { ...command, deviceId: 'edge-a', commandId: 'cmd-kcat-2' };
    kcat(
      ['-b', cluster.bootstrap, '-P', '-t', `${prefix}commands`, '-K', '\t'],
      `acme/edge-a\t${JSON.stringify(second)}\n`,
    );
    await waitFor('edge-a gets its command', () => received['edge-a']!.length === 1);
    assert.deepEqual(
      received['edge-a']!.map((c) => c.commandId),
      ['cmd-kcat-2'],
    );
    assert.deepEqual(
      received['edge-b']!.map((c) => c.commandId),
      ['cmd-kcat-1'],
    );
  });

  test('two instances of a group share the partitions; a rebalance while messages flow loses nothing', async () => {
    const group = 'rebalance-test';
    const processed = new Map<string, number>(); // `${camera}/${seq}` → times processed
    const byInstance = { a: 0, b: 0 };
    const handler = (who: 'a' | 'b') => async (m: DetectionFrameV1) => {
      if (!m.cameraId.startsWith('rb-')) return;
      byInstance[who]++;
      const k = `${m.cameraId}/${m.seq}`;
      processed.set(k, (processed.get(k) ?? 0) + 1);
    };
    const a = kafkaBus();
    const subA = await a.subscribe('detections', { group }, handler('a'));
    await kafkaOf(a).ready();
    const producer = kafkaBus();
    let sent = 0;
    let producing = true;
    const pump = (async () => {
      while (producing) {
        // Five frames of each of 12 cameras at a time (the mock broker serves small batches slowly).
        const batch = Array.from({ length: 60 }, (_, i) =>
          detection(`rb-${i % 12}`, sent * 5 + Math.floor(i / 12)),
        );
        await producer.publishMany('detections', batch);
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    const t0 = Date.now();
    const mark = (what: string) =>
      process.env.KAFKA_TEST_DEBUG && console.log(what, Date.now() - t0, sent, byInstance);
    await waitFor('instance a consuming', () => byInstance.a > 20);
    mark('a consuming');
    // A second server instance joins: the partitions are shared between the two.
    const b = kafkaBus();
    await b.subscribe('detections', { group }, handler('b'));
    await kafkaOf(b).ready();
    mark('b ready');
    await waitFor('instance b consuming', () => byInstance.b > 20);
    mark('b consuming');
    const assigned = [kafkaOf(a).assignments()[group] ?? [], kafkaOf(b).assignments()[group] ?? []];
    assert.ok(
      assigned[0]!.length > 0 && assigned[1]!.length > 0,
      `both hold partitions: ${JSON.stringify(assigned)}`,
    );
    assert.equal(new Set([...assigned[0]!, ...assigned[1]!]).size, PARTITIONS);
    // Instance a leaves: b takes over every partition.
    await subA.close();
    const atLeave = byInstance.b;
    mark('a left');
    await waitFor('b after a left', () => byInstance.b > atLeave + 50);
    mark('b took over');
    producing = false;
    await pump;
    const expected = sent * 60;
    await waitFor(`all ${expected} messages processed`, () => processed.size === expected, 30_000);
    mark('all processed');
    for (let s = 0; s < sent * 5; s++)
      for (let i = 0; i < 12; i++) assert.ok(processed.has(`rb-${i}/${s}`), `rb-${i}/${s} processed`);
  });
  test('a co-partitioned subscription gives each member the same partitions of both topics: a camera’s frames and track events meet', async () => {
    const group = 'co-partitioned-test';
    type Who = 'a' | 'b' | 'c';
    const seen = new Map<string, Set<Who>>(); // `${topic}/${camera}` → the members that consumed it
    const handlers = (who: Who) => {
      const saw = (key: string) => {
        const members = seen.get(key) ?? new Set<Who>();
        members.add(who);
        seen.set(key, members);
      };
      return {
        detections: async (m: DetectionFrameV1) => saw(`detections/${m.cameraId}`),
        tracks: async (m: TrackEventV1) => saw(`tracks/${m.cameraId}`),
      };
    };
    const producer = kafkaBus();
    const cameras = Array.from({ length: 12 }, (_, i) => `co-${i}`);
    let round = 0;
    /** Publishes a frame and a track event of every camera, again and again, until `done`. */
    const pumpUntil = async (what: string, done: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!done()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...seen])}`);
        round++;
        await producer.publishMany(
          'detections',
          cameras.map((c, i) => detection(c, round * 100 + i)),
        );
        await producer.publishMany(
          'tracks',
          cameras.map((cameraId) => ({
            ...examples.trackStarted,
            cameraId,
            trackId: `${cameraId}-${round}`,
          })),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    };
    const everyCameraSeen = () => seen.size === cameras.length * 2;
    const consumedBy = (who: Who) => [...seen.values()].some((m) => m.has(who));

    // Three members, then one leaves: each change is a rebalance.
    const [a, b, c] = [kafkaBus(), kafkaBus(), kafkaBus()];
    await a.subscribeMany(handlers('a'), { group, coPartitioned: true });
    const subB = await b.subscribeMany(handlers('b'), { group, coPartitioned: true });
    await c.subscribeMany(handlers('c'), { group, coPartitioned: true });
    await pumpUntil(
      'all three consuming',
      () => everyCameraSeen() && ['a', 'b', 'c'].every((w) => consumedBy(w as Who)),
    );
    await subB.close();
    seen.clear();
    await pumpUntil('every camera after b left', everyCameraSeen);

    // Settled: in a fresh window, each camera's frames and track events reach one member, the same.
    // (librdkafka's cooperative-sticky assignor often lines them up too, but does not promise it;
    // range, which a co-partitioned subscription uses, does. Two subscriptions would be two
    // members, each given its own partitions.)
    seen.clear();
    await pumpUntil('every camera again', everyCameraSeen);
    for (const camera of cameras) {
      const tracks = [...(seen.get(`tracks/${camera}`) ?? [])];
      const frames = [...(seen.get(`detections/${camera}`) ?? [])];
      assert.equal(tracks.length, 1, `${camera}'s track events on one member`);
      assert.deepEqual(frames, tracks, `${camera}'s frames on the member that has its track events`);
    }
    assert.ok(consumedBy('a') && consumedBy('c'), 'both members that stayed share the partitions');
    assert.ok(!consumedBy('b'), 'the member that left consumes nothing');
  });
  test('topics read co-partitioned with different partition counts are refused, naming them', async () => {
    await cluster.createTopic('mismatch.tracks', 3);
    await cluster.createTopic('mismatch.detections', 6);
    const bus = new Bus(new KafkaBus({ brokers: cluster.brokers, settings: mockClusterSettings }), {
      topicPrefix: 'mismatch.',
    });
    buses.push(bus);
    await assert.rejects(
      bus.subscribeMany(
        { detections: async () => undefined, tracks: async () => undefined },
        { group: 'mismatch', coPartitioned: true },
      ),
      (err: Error & { code?: string }) =>
        err.code === 'ICEBERG_ERR_CONFIG_INVALID' &&
        /mismatch\.detections has 6 partitions, mismatch\.tracks has 3 partitions/.test(err.message),
    );
  });
});
