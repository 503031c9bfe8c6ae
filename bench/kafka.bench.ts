/**
 * Throughput of detection messages over Kafka: `npm run bench:kafka` (about a minute).
 * One run, one broker set (librdkafka's mock cluster, 3 brokers, 6 partitions per topic, built
 * by tools/kafka-mock/build.sh): Iceberg's Kafka bus (typed, schema-checked, idempotent producer
 * with acks=all; consumer group committing after each handler) next to Debian's kcat
 * (librdkafka's defaults, no schema check) moving the same messages.
 * Then the device's own path: the same Bus over its durable outbox (every publish fsync'd to
 * disk, then handed to Kafka in order): published one frame at a time by 24 cameras at once, and
 * a backlog built while every broker is down, drained when they return.
 *   --count N   messages per measurement (default 20000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus, KafkaBus } from '@iceberg/bus';
import { type DetectionFrameV1, examples } from '@iceberg/contracts';
import { OutboxTransport } from '@iceberg/edge';
import { MockKafkaCluster } from '../packages/bus/test/kafka-mock-cluster.ts';

const countArg = process.argv.indexOf('--count');
const N = countArg > 0 ? Number(process.argv[countArg + 1]) : 20_000;
const CAMERAS = 24;
const BATCH = 500;

const frames: DetectionFrameV1[] = Array.from({ length: N }, (_, i) => ({
  ...examples.detection,
  cameraId: `cam-${i % CAMERAS}`,
  seq: Math.floor(i / CAMERAS),
  capturedAt: examples.detection.capturedAt + i,
}));
const bytes = frames.reduce((n, f) => n + JSON.stringify(f).length, 0) / N;

const cluster = await MockKafkaCluster.start(3);
const rows: Array<[string, string, string]> = [];
let outboxBytesPerMessage = 0;
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en');
try {
  for (const t of ['ours.detections', 'kcat.detections']) await cluster.createTopic(t, 6);

  // Iceberg producer: Bus.publishMany (zod check + JSON + headers) → KafkaBus (idempotent, acks=all).
  const producer = new Bus(new KafkaBus({ brokers: cluster.brokers }), { topicPrefix: 'ours.' });
  await producer.publish('detections', frames[0]!); // connect and fetch metadata outside the timing
  let t = performance.now();
  for (let i = 1; i < N; i += BATCH) await producer.publishMany('detections', frames.slice(i, i + BATCH));
  const ourProduceMs = performance.now() - t;
  rows.push(['Iceberg producer (Bus.publishMany, batches of 500)', rate(N - 1, ourProduceMs), `${N - 1}`]);

  // kcat producer: the same JSON lines with their keys on stdin.
  const lines = `${frames.map((f) => `${f.orgId}/${f.cameraId}\t${JSON.stringify(f)}`).join('\n')}\n`;
  t = performance.now();
  execFileSync(
    'kcat',
    ['-b', cluster.bootstrap, '-P', '-t', 'kcat.detections', '-K', '\t', '-X', 'acks=all'],
    {
      input: lines,
      maxBuffer: 1 << 30,
    },
  );
  const kcatProduceMs = performance.now() - t;
  rows.push(['kcat -P (acks=all, librdkafka defaults)', rate(N, kcatProduceMs), `${N}`]);

  // Iceberg consumer: a new group from the beginning, every message parsed and handled.
  const consumerBus = new Bus(new KafkaBus({ brokers: cluster.brokers }), { topicPrefix: 'ours.' });
  let got = 0;
  let first = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  await consumerBus.subscribe('detections', { group: 'bench', fromBeginning: true }, async () => {
    if (got === 0) first = performance.now();
    if (++got === N) done();
  });
  await all;
  const ourConsumeMs = performance.now() - first;
  rows.push(['Iceberg consumer (group, parse + handler + commit)', rate(N - 1, ourConsumeMs), `${N}`]);
  await consumerBus.close();
  await producer.close();

  // kcat consumer: read the topic from the beginning to the end (no group), counting lines.
  t = performance.now();
  const counted = await new Promise<number>((resolve, reject) => {
    const child = spawn('kcat', [
      '-b',
      cluster.bootstrap,
      '-C',
      '-t',
      'kcat.detections',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    let n = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (const c of d) if (c === 10) n++;
    });
    child.on('error', reject);
    child.on('exit', () => resolve(n));
  });
  const kcatConsumeMs = performance.now() - t;
  rows.push(['kcat -C (no group, to the end)', rate(counted, kcatConsumeMs), `${counted}`]);

  // The device's path: Bus → outbox (fsync'd) → Kafka, each camera publishing its own frames.
  await cluster.createTopic('device.detections', 6);
  const outboxDir = mkdtempSync(join(tmpdir(), 'iceberg-bench-outbox-'));
  const outbox = new OutboxTransport(new KafkaBus({ brokers: cluster.brokers }), {
    dir: outboxDir,
    maxBytes: 1 << 30,
    shedOrder: ['device.detections'],
  });
  const device = new Bus(outbox, { topicPrefix: 'device.' });
  const drained = async () => {
    while (outbox.stats().pendingMessages > 0) await new Promise((r) => setTimeout(r, 5));
  };
  const publishByCameras = async (from: number) => {
    for (let i = from; i < N; i += CAMERAS)
      await Promise.all(frames.slice(i, i + CAMERAS).map((f) => device.publish('detections', f)));
  };
  try {
    await device.publish('detections', frames[0]!);
    await drained();
    t = performance.now();
    await publishByCameras(1);
    const onDiskMs = performance.now() - t;
    await drained();
    const deliveredMs = performance.now() - t;
    rows.push([
      `Device: ${CAMERAS} cameras publishing into the outbox (fsync'd on disk)`,
      rate(N - 1, onDiskMs),
      `${N - 1}`,
    ]);
    rows.push(['Device: the same, until Kafka acknowledged them all', rate(N - 1, deliveredMs), `${N - 1}`]);

    // An outage: every broker down while the cameras go on, then the backlog drains.
    await cluster.down('all');
    t = performance.now();
    await publishByCameras(0);
    const outageWriteMs = performance.now() - t;
    rows.push(['Device, brokers down: into the outbox', rate(N, outageWriteMs), `${N}`]);
    const backlog = outbox.stats().pendingMessages;
    outboxBytesPerMessage = outbox.stats().pendingBytes / backlog;
    const deliveredBefore = outbox.stats().delivered;
    await cluster.up('all');
    t = performance.now();
    // Reconnecting comes first (librdkafka's backoff); then the backlog flows.
    while (outbox.stats().delivered === deliveredBefore) await new Promise((r) => setTimeout(r, 5));
    const reconnectMs = performance.now() - t;
    await drained();
    const drainMs = performance.now() - t - reconnectMs;
    rows.push([
      `Device, brokers back: backlog drained to Kafka (after ${(reconnectMs / 1000).toFixed(1)} s reconnecting)`,
      rate(backlog, drainMs),
      `${backlog}`,
    ]);
  } finally {
    await device.close();
    rmSync(outboxDir, { recursive: true, force: true });
  }
} finally {
  await cluster.stop();
}

console.log(
  `\nKafka throughput, detection.v1 messages of ${Math.round(bytes)} bytes, ${CAMERAS} cameras as keys,`,
);
console.log('mock cluster of 3 brokers (librdkafka 2.0.2), 6 partitions, same run:\n');
console.log('| client | messages/s | messages |');
console.log('| --- | ---: | ---: |');
for (const [what, r, n] of rows) console.log(`| ${what} | ${r} | ${n} |`);
console.log(
  `\nThe outbox holds ${Math.round(outboxBytesPerMessage)} bytes per detection message: the default 256 MiB quota keeps ${Math.round((256 * 2 ** 20) / outboxBytesPerMessage).toLocaleString('en')} of them.`,
);
