import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DeviceStatusV1, TrackEventV1 } from '@iceberg/contracts';
import { alertKeys, allPages, api, IcebergProcesses } from './iceberg-processes.ts';
import { kcat, MockKafkaCluster, mockClusterSettings, repoRoot, waitFor } from './kafka-mock-cluster.ts';

/**
 * Real processes end to end: `iceberg edge --bus kafka` on the sample footage → the mock Kafka
 * cluster (3 brokers) → `iceberg server --bus kafka`. The server is restarted mid-stream, then
 * every broker is stopped for 30 s while the device runs.
 */
const tmp = mkdtempSync(join(tmpdir(), 'iceberg-kafka-e2e-'));
const procs = new IcebergProcesses(tmp);
let cluster: MockKafkaCluster;

const kafkaBlock = () => ({
  type: 'kafka',
  kafka: { brokers: cluster.brokers, settings: mockClusterSettings },
});

/** The same server (same data directory) each time; `label` names its log. */
const startServer = (label: string) =>
  procs.server(label, { dataDir: join(tmp, 'server'), bus: kafkaBlock() });

before(async () => {
  cluster = await MockKafkaCluster.start(3);
  await cluster.createIcebergTopics('iceberg.', 6);
});

after(async () => {
  if (process.env.KAFKA_TEST_DEBUG)
    for (const r of procs.started) writeFileSync(join(tmpdir(), `iceberg-e2e-${r.name}.log`), r.err.join(''));
  procs.killAll();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('edge → Kafka → server, with the sample footage', () => {
  test('round trip; server restarted mid-stream; all brokers down for 30 s; nothing lost, no duplicate alerts', async () => {
    let server = await startServer('server');
    const edge = procs.runWithConfig('edge', 'edge', {
      org: 'acme',
      device: { id: 'edge-a' },
      dataDir: join(tmp, 'edge'),
      log: { level: 'info' },
      heartbeatSeconds: 2,
      detector: { concurrency: 1, threads: 1 },
      bus: kafkaBlock(),
      cameras: [
        { id: 'lobby', input: join(repoRoot, 'assets/samples/vtest.mp4'), loop: true, detect: { fps: 2 } },
      ],
    });
    // The device's camera registers itself on the server; then a rule for it.
    await waitFor(
      'a rule on the device camera',
      () =>
        api(server, '/api/rules', {
          method: 'POST',
          body: JSON.stringify({
            name: 'Anyone in the lobby',
            cameras: ['lobby'],
            classes: ['person'],
            trigger: { type: 'anywhere' },
            cooldownSeconds: 0,
          }),
        }).then(() => true),
      90_000,
      500,
    );

    // Round trip: the device's track events become events on the server.
    await waitFor(
      'events on the server',
      async () => (await allPages(server, '/api/events')).length >= 3,
      90_000,
    );

    // The server restarts mid-stream and resumes from its committed offsets.
    assert.equal(await procs.stop(server.proc), 0);
    server = await startServer('server-restarted');
    const afterRestart = (await allPages<{ trackId: string }>(server, '/api/events')).length;

    // Every broker down for 30 s while the device keeps running.
    await cluster.down('all');
    const downAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    assert.equal(edge.child.exitCode, null, 'the device keeps running');
    await cluster.up('all');
    const upAt = Date.now();

    // The backlog was reported in heartbeats and drains; then the device stops cleanly.
    const heartbeats = await waitFor(
      'a heartbeat reporting the outbox backlog',
      () => {
        const hb = cluster
          .readTopic<DeviceStatusV1>('device-status')
          .filter((h) => h.deviceId === 'edge-a' && h.at > downAt);
        return hb.some((h) => (h.outbox?.pendingMessages ?? 0) > 0) ? hb : undefined;
      },
      60_000,
      1000,
    );
    await waitFor(
      'the backlog drained',
      () =>
        cluster
          .readTopic<DeviceStatusV1>('device-status')
          .some((h) => h.deviceId === 'edge-a' && h.at > upAt && h.outbox?.pendingMessages === 0),
      60_000,
      1000,
    );
    assert.equal(await procs.stop(edge), 0);
    assert.doesNotMatch(edge.err.join(''), /messages left on disk/);
    assert.ok(
      heartbeats.every((h) => h.outbox?.shed === 0),
      'nothing shed',
    );

    // Count in = count stored: every track the device reported is on the server.
    const events = cluster.readTopic<TrackEventV1>('tracks').filter((e) => e.deviceId === 'edge-a');
    const started = new Set(events.filter((e) => e.type === 'TrackStarted').map((e) => e.trackId));
    const duringOutage = events.filter((e) => e.type === 'TrackStarted' && e.at > downAt && e.at < upAt);
    assert.ok(duringOutage.length > 0, 'tracks started while the brokers were down');
    let seen: Array<{ trackId: string }> = [];
    const stored = await waitFor(
      `all ${started.size} tracks stored`,
      async () => {
        seen = await allPages<{ trackId: string; endedAt: number | null }>(server, '/api/events');
        return seen.length >= started.size ? seen : undefined;
      },
      60_000,
      1000,
    ).catch((err: Error) => {
      // Which tracks are missing, where they sit in Kafka, and what the server said.
      const have = new Set(seen.map((e) => e.trackId));
      const missing = [...started].filter((id) => !have.has(id));
      const where = kcat([
        '-b',
        cluster.bootstrap,
        '-C',
        '-t',
        'iceberg.tracks',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%p/%o %s\n',
      ])
        .split('\n')
        .filter((l) => missing.some((id) => l.includes(id) && l.includes('TrackStarted')))
        .map((l) => l.slice(0, l.indexOf(' ')));
      const serverLog = server.proc.err
        .join('')
        .split('\n')
        .filter((l) => /kafka|partition|offset|handler/i.test(l))
        .slice(-40)
        .join('\n');
      throw new Error(
        `${err.message}; stored ${have.size}, missing ${missing.join(', ')} at partition/offset ${where.join(', ')}; outage ${downAt}..${upAt}\n${serverLog}`,
      );
    });
    assert.deepEqual(new Set(stored.map((e) => e.trackId)), started);
    assert.ok(stored.length > afterRestart);

    // Alerts: raised, and never twice for the same track.
    const alerts = await allPages<{ ruleId: string; trackIds: string[]; reason: string }>(
      server,
      '/api/alerts',
    );
    assert.ok(alerts.length > 0);
    const keys = alertKeys(alerts);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate alerts');
    assert.equal(await procs.stop(server.proc), 0);
  });
});
