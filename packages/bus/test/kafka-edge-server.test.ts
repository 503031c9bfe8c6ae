import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DeviceStatusV1, TrackEventV1 } from '@iceberg/contracts';
import { kcat, MockKafkaCluster, mockClusterSettings, repoRoot, waitFor } from './kafka-mock-cluster.ts';

/**
 * Real processes end to end: `iceberg edge --bus kafka` on the sample footage → the mock Kafka
 * cluster (3 brokers) → `iceberg server --bus kafka`. The server is restarted mid-stream, then
 * every broker is stopped for 30 s while the device runs.
 */
const iceberg = join(repoRoot, 'packages/cli/bin/iceberg');
const tmp = mkdtempSync(join(tmpdir(), 'iceberg-kafka-e2e-'));
let cluster: MockKafkaCluster;
const children = new Set<ChildProcess>();
const logs: Array<{ name: string; r: Running }> = [];

interface Running {
  child: ChildProcess;
  out: string[];
  err: string[];
  exited: Promise<number | null>;
}

function run(args: string[]): Running {
  const r = start(args);
  logs.push({ name: args[0]!, r });
  return r;
}

function start(args: string[]): Running {
  const child = spawn(iceberg, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'test' },
  });
  children.add(child);
  const r: Running = {
    child,
    out: [],
    err: [],
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (d: Buffer) => r.out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => r.err.push(d.toString()));
  void r.exited.then(() => children.delete(child));
  return r;
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill('SIGTERM');
  return r.exited;
}

function yaml(value: unknown): string {
  return JSON.stringify(value, null, 2); // JSON is YAML
}

const kafkaBlock = () => ({
  type: 'kafka',
  kafka: { brokers: cluster.brokers, settings: mockClusterSettings },
});

async function startServer(): Promise<{ proc: Running; url: string; token: string }> {
  const file = join(tmp, 'server.yaml');
  writeFileSync(
    file,
    yaml({
      dataDir: join(tmp, 'server'),
      log: { level: 'info' },
      bus: kafkaBlock(),
      server: {
        port: 0,
        admin: { email: 'admin@acme.test', password: 'correct-horse-battery', org: 'acme' },
        restream: { rtmpPort: 0 }, // a free port: parallel tests must not fight over 1935
      },
    }),
  );
  const proc = run(['server', '--config', file]);
  const url = await waitFor(
    'the server to be ready on Kafka',
    () => {
      if (proc.child.exitCode !== null) throw new Error(`server exited: ${proc.err.join('').slice(-2000)}`);
      return /Iceberg server on (http:\/\/\S+)\/api/.exec(proc.out.join(''))?.[1];
    },
    90_000,
  );
  const login = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@acme.test', password: 'correct-horse-battery' }),
  });
  assert.equal(login.status, 200);
  const { token } = (await login.json()) as { token: string };
  return { proc, url, token };
}

async function api<T>(s: { url: string; token: string }, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${s.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', ...init.headers },
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function allPages<T>(s: { url: string; token: string }, path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: T[]; nextCursor: string | null } = await api(
      s,
      `${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

function topic<T>(name: string): T[] {
  const out = kcat([
    '-b',
    cluster.bootstrap,
    '-C',
    '-t',
    `iceberg.${name}`,
    '-o',
    'beginning',
    '-e',
    '-q',
  ]).trim();
  return out ? out.split('\n').map((l) => JSON.parse(l) as T) : [];
}

before(async () => {
  cluster = await MockKafkaCluster.start(3);
  await cluster.createIcebergTopics('iceberg.', 6);
});

after(async () => {
  if (process.env.KAFKA_TEST_DEBUG)
    for (const { name, r } of logs)
      console.log(
        `--- ${name}\n${r.out.join('').slice(-3000)}\n${r.err
          .join('')
          .split('\n')
          .filter((l) => !l.includes('nginx'))
          .join('\n')
          .slice(-5000)}`,
      );
  for (const c of children) c.kill('SIGKILL');
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('edge → Kafka → server, with the sample footage', () => {
  test('round trip; server restarted mid-stream; all brokers down for 30 s; nothing lost, no duplicate alerts', async () => {
    let server = await startServer();
    const edgeFile = join(tmp, 'edge.yaml');
    writeFileSync(
      edgeFile,
      yaml({
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
      }),
    );
    const edge = run(['edge', '--config', edgeFile]);
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
    assert.equal(await stop(server.proc), 0);
    server = await startServer();
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
        const hb = topic<DeviceStatusV1>('device-status').filter(
          (h) => h.deviceId === 'edge-a' && h.at > downAt,
        );
        return hb.some((h) => (h.outbox?.pendingMessages ?? 0) > 0) ? hb : undefined;
      },
      60_000,
      1000,
    );
    await waitFor(
      'the backlog drained',
      () =>
        topic<DeviceStatusV1>('device-status').some(
          (h) => h.deviceId === 'edge-a' && h.at > upAt && h.outbox?.pendingMessages === 0,
        ),
      60_000,
      1000,
    );
    assert.equal(await stop(edge), 0);
    assert.doesNotMatch(edge.err.join(''), /messages left on disk/);
    assert.ok(
      heartbeats.every((h) => h.outbox?.shed === 0),
      'nothing shed',
    );

    // Count in = count stored: every track the device reported is on the server.
    const events = topic<TrackEventV1>('tracks').filter((e) => e.deviceId === 'edge-a');
    const started = new Set(events.filter((e) => e.type === 'TrackStarted').map((e) => e.trackId));
    const duringOutage = events.filter((e) => e.type === 'TrackStarted' && e.at > downAt && e.at < upAt);
    assert.ok(duringOutage.length > 0, 'tracks started while the brokers were down');
    const stored = await waitFor(
      `all ${started.size} tracks stored`,
      async () => {
        const list = await allPages<{ trackId: string; endedAt: number | null }>(server, '/api/events');
        return list.length >= started.size ? list : undefined;
      },
      60_000,
      1000,
    );
    assert.deepEqual(new Set(stored.map((e) => e.trackId)), started);
    assert.ok(stored.length > afterRestart);

    // Alerts: raised, and never twice for the same track.
    const alerts = await allPages<{ ruleId: string; trackIds: string[]; reason: string }>(
      server,
      '/api/alerts',
    );
    assert.ok(alerts.length > 0);
    const keys = alerts.map((a) => `${a.ruleId}/${a.reason}/${a.trackIds.join(',')}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate alerts');
    assert.equal(await stop(server.proc), 0);
  });
});
