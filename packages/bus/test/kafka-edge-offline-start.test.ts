import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CommandAckV1, CommandV1, DeviceStatusV1, TrackEventV1 } from '@iceberg/contracts';
import { IcebergProcesses } from './iceberg-processes.ts';
import { kcat, MockKafkaCluster, mockClusterSettings, repoRoot, waitFor } from './kafka-mock-cluster.ts';

/**
 * A device that starts while Kafka cannot be reached (a power cut took the router down too): it
 * records and detects on at once, keeps trying to listen for commands, and once Kafka is there it
 * delivers what it kept and obeys a command. The device knows Kafka by one bootstrap address, a
 * port where nothing listens at first; then a TCP relay to the mock cluster opens there, as a
 * network coming back would (the brokers it then learns of are the mock cluster's own).
 */
const tmp = mkdtempSync(join(tmpdir(), 'iceberg-kafka-offline-'));
const procs = new IcebergProcesses(tmp);
let cluster: MockKafkaCluster;
let relay: Server | undefined;

/** A free loopback port, closed again: nothing listens there until the relay opens. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Opens a TCP relay on `port` to the cluster's first broker. */
async function openRelay(port: number): Promise<Server> {
  const [host, target] = cluster.brokers[0]!.split(':');
  const server = createServer((socket) => {
    const upstream = connect(Number(target), host);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

before(async () => {
  cluster = await MockKafkaCluster.start(3);
  await cluster.createIcebergTopics('iceberg.', 6);
});

after(async () => {
  if (process.env.KAFKA_TEST_DEBUG)
    for (const r of procs.started)
      writeFileSync(join(tmpdir(), `iceberg-offline-${r.name}.log`), r.err.join(''));
  procs.killAll();
  relay?.close();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a device started while Kafka is down', () => {
  test('records and detects at once; once the brokers are there, its backlog arrives and it obeys commands', async () => {
    const port = await freePort();
    const dataDir = join(tmp, 'edge');
    const edge = procs.runWithConfig('edge', 'edge', {
      org: 'acme',
      device: { id: 'edge-late' },
      dataDir,
      log: { level: 'info' },
      heartbeatSeconds: 2,
      detector: { concurrency: 1, threads: 1 },
      bus: { type: 'kafka', kafka: { brokers: [`127.0.0.1:${port}`], settings: mockClusterSettings } },
      cameras: [
        { id: 'lobby', input: join(repoRoot, 'assets/samples/vtest.mp4'), loop: true, detect: { fps: 2 } },
      ],
    });

    // A DVR without its network: people are tracked, segments recorded, messages kept on disk.
    await waitFor('a person tracked offline', () => /appeared/.test(edge.out.join('')), 60_000, 500);
    await waitFor(
      'a recorded segment',
      () => files(join(dataDir, 'recordings')).some((f) => f.endsWith('.mp4')),
      60_000,
      500,
    );
    assert.ok(files(join(dataDir, 'outbox')).length > 0, 'the outbox holds the messages');
    await waitFor(
      'the device saying it cannot listen for commands yet',
      () => /cannot listen for commands/.test(edge.err.join('')),
      90_000,
      500,
    );
    assert.equal(edge.child.exitCode, null, 'the device keeps running');
    const upAt = Date.now();
    relay = await openRelay(port);

    // What it kept arrives: the tracks it saw offline, and heartbeats that show the backlog going.
    await waitFor(
      'track events from before the brokers came up',
      () => cluster.readTopic<TrackEventV1>('tracks').some((e) => e.deviceId === 'edge-late' && e.at < upAt),
      60_000,
      1000,
    );
    await waitFor(
      'a heartbeat with the backlog drained',
      () =>
        cluster
          .readTopic<DeviceStatusV1>('device-status')
          .some((h) => h.deviceId === 'edge-late' && h.at > upAt && h.outbox?.pendingMessages === 0),
      60_000,
      1000,
    );

    // It sent its heartbeats all along (every 2 s), not only once it could listen for commands.
    const offlineBeats = cluster
      .readTopic<DeviceStatusV1>('device-status')
      .filter((h) => h.deviceId === 'edge-late' && h.at < upAt);
    assert.ok(offlineBeats.length >= 5, `${offlineBeats.length} heartbeats from before Kafka was reachable`);

    // It listens for commands now: a command produced with kcat is answered.
    let n = 0;
    const ack = await waitFor(
      'an acknowledgement of a command',
      () => {
        const command: CommandV1 = {
          schema: 'command.v1',
          type: 'StartStream',
          orgId: 'acme',
          deviceId: 'edge-late',
          commandId: `cmd-late-${++n}`,
          issuedAt: Date.now(),
          cameraId: 'lobby',
          streamId: `live-late-${n}`,
          publishUrl: 'rtmp://127.0.0.1:1/live/nowhere?key=k',
          annotated: false,
          ttlSeconds: 30,
        };
        kcat(
          ['-b', cluster.bootstrap, '-P', '-t', 'iceberg.commands', '-K', '\t'],
          `acme/edge-late\t${JSON.stringify(command)}\n`,
        );
        return cluster
          .readTopic<CommandAckV1>('command-acks')
          .find((a) => a.deviceId === 'edge-late' && a.commandId.startsWith('cmd-late-'));
      },
      90_000,
      3000,
    );
    assert.equal(ack.orgId, 'acme');
    assert.match(edge.err.join(''), /streaming agent listening for commands/);
    assert.equal(await procs.stop(edge), 0);
  });
});
