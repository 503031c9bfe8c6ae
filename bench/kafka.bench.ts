/**
 * Throughput of detection messages over Kafka: `npm run bench:kafka` (about a minute).
 * One run, one broker set (librdkafka's mock cluster, 3 brokers, 6 partitions per topic, built
 * by tools/kafka-mock/build.sh): Iceberg's Kafka bus (typed, schema-checked, idempotent producer
 * with acks=all; consumer group committing after each handler) next to Debian's kcat
 * (librdkafka's defaults, no schema check) moving the same messages.
 *   --count N   messages per measurement (default 20000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { Bus, KafkaBus } from '@iceberg/bus';
import { type DetectionFrameV1, examples } from '@iceberg/contracts';
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
