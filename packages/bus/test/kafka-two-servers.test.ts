/**
 * Two `iceberg server --bus kafka` processes on one PostgreSQL share the partitions: a second
 * instance joins while devices publish, then the first one stops, and every track event is
 * stored, with exactly one alert per person although cameras moved between the instances
 * mid-track. The device side is the project's own producer (KafkaBus) publishing what an edge
 * publishes for 12 cameras: detection frames and track events of people walking by.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@iceberg/common';
import type { DetectionFrameV1, TrackEventV1 } from '@iceberg/contracts';
import { type PostgresServer, startPostgres } from '../../store/test/postgres-server.ts';
import { Bus } from '../src/bus.ts';
import { KafkaBus } from '../src/kafka-bus.ts';
import { alertKeys, allPages, api, IcebergProcesses, type ServerHandle } from './iceberg-processes.ts';
import { MockKafkaCluster, mockClusterSettings, waitFor } from './kafka-mock-cluster.ts';

const CAMERAS = Array.from({ length: 12 }, (_, i) => `cam-${i}`);
/** Each person is in view for this many frames (2 per second), then the next one comes. */
const FRAMES_PER_PERSON = 8;

const tmp = mkdtempSync(join(tmpdir(), 'iceberg-kafka-two-'));
const procs = new IcebergProcesses(tmp);
let cluster: MockKafkaCluster;
let postgres: PostgresServer;
let device: Bus | undefined;
let walking = false;

before(async () => {
  [cluster, postgres] = await Promise.all([MockKafkaCluster.start(3), startPostgres()]);
  await cluster.createIcebergTopics('iceberg.', 6);
});

after(async () => {
  if (process.env.KAFKA_TEST_DEBUG)
    for (const r of procs.started) writeFileSync(join(tmpdir(), `iceberg-two-${r.name}.log`), r.err.join(''));
  walking = false;
  await device?.close().catch(() => undefined);
  procs.killAll();
  await cluster?.stop();
  postgres?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The device's side: per camera, people one after another; a frame per camera every 500 ms. */
class WalkingPeople {
  sent = 0;
  readonly started = new Set<string>();
  private frame = 0;
  private readonly t0 = Date.now();

  constructor(private readonly bus: Bus) {}

  /** Waits while one more person walks by every camera. */
  async walkBy(what: string): Promise<void> {
    const before = this.started.size;
    await waitFor(what, () => this.started.size >= before + CAMERAS.length, 30_000, 250);
  }

  async step(): Promise<void> {
    const k = this.frame++;
    const at = this.t0 + k * 500;
    const person = Math.floor(k / FRAMES_PER_PERSON);
    const phase = k % FRAMES_PER_PERSON;
    const tracks: TrackEventV1[] = [];
    const frames: DetectionFrameV1[] = [];
    for (const cameraId of CAMERAS) {
      const trackId = `${cameraId}-p${person}`;
      const origin = { orgId: 'acme', deviceId: 'edge-sim', cameraId };
      const box: [number, number, number, number] = [0.1 + phase * 0.08, 0.3, 0.1, 0.4];
      const track = {
        schema: 'track.v1' as const,
        ...origin,
        trackId,
        at,
        class: 'person' as const,
        score: 0.9,
        box,
        firstSeenAt: this.t0 + (k - phase) * 500,
        lastSeenAt: at,
        stationary: false,
        snapshot: null,
      };
      if (phase === 0) {
        tracks.push({ ...track, type: 'TrackStarted', eventId: `${trackId}:TrackStarted:0` });
        this.started.add(trackId);
      }
      if (phase === FRAMES_PER_PERSON - 1)
        tracks.push({
          ...track,
          type: 'TrackEnded',
          eventId: `${trackId}:TrackEnded:0`,
          hits: FRAMES_PER_PERSON,
        });
      frames.push({
        schema: 'detection.v1',
        ...origin,
        seq: k,
        capturedAt: at,
        frame: { width: 768, height: 576 },
        inferred: true,
        inferenceMs: 80,
        objects: [{ trackId, class: 'person', score: 0.9, box }],
      });
    }
    // As the edge does: a frame's track events before the frame.
    await this.bus.publishMany('tracks', tracks);
    await this.bus.publishMany('detections', frames);
    this.sent += frames.length;
  }
}

/** The partitions a server process says it holds for the store's consumer group, as it logs them. */
function holdsPartitions(s: ServerHandle): boolean {
  const lines = s.proc.err.join('').split('\n'); // the log (stderr)
  let held = 0;
  for (const line of lines) {
    if (!line.includes('"iceberg-server-store"')) continue;
    const n = Number(/"partitions":(\d+)/.exec(line)?.[1] ?? 0);
    if (line.includes('partitions assigned')) held += n;
    if (line.includes('partitions revoked')) held -= n;
  }
  return held > 0;
}

describe('two server instances on Kafka and one PostgreSQL', () => {
  test('a second instance joins and the first leaves while devices publish: every track stored, even from before the server first ran; one alert per person', async () => {
    const databaseUrl = await postgres.createDatabase('iceberg');
    const config = (name: string) => ({
      dataDir: join(tmp, name),
      bus: { type: 'kafka', kafka: { brokers: cluster.brokers, settings: mockClusterSettings } },
      server: { databaseUrl },
    });
    // The devices ran before the server first started: one person per camera is in Kafka already.
    device = new Bus(
      new KafkaBus({ brokers: cluster.brokers, settings: mockClusterSettings, logger: silentLogger() }),
      { topicPrefix: 'iceberg.', logger: silentLogger() },
    );
    const people = new WalkingPeople(device);
    for (let k = 0; k < FRAMES_PER_PERSON; k++) await people.step();
    const before = new Set(people.started);

    const a = await procs.server('server-a', config('server-a'));
    for (const id of CAMERAS)
      await api(a, '/api/cameras', {
        method: 'POST',
        body: JSON.stringify({ id, input: `rtsp://192.0.2.1/${id}` }),
      });
    await api(a, '/api/rules', {
      method: 'POST',
      body: JSON.stringify({
        name: 'Anyone',
        cameras: CAMERAS,
        classes: ['person'],
        trigger: { type: 'anywhere' },
      }),
    });

    walking = true;
    const walk = (async () => {
      while (walking) {
        await people.step();
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    const stored = async (s: ServerHandle) => (await allPages<{ trackId: string }>(s, '/api/events')).length;
    await waitFor(
      'server a storing tracks',
      async () => (await stored(a)) >= 2 * CAMERAS.length,
      60_000,
      500,
    );

    // A second instance joins: the partitions are shared while people keep walking by.
    const b = await procs.server('server-b', config('server-b'));
    await waitFor('server b holding partitions', () => holdsPartitions(b), 60_000, 250);
    assert.ok(holdsPartitions(a), 'server a still holds some partitions');
    await people.walkBy('more people while both run');

    // The first instance stops: the second takes every partition.
    assert.equal(await procs.stop(a.proc), 0);
    await people.walkBy('more people after a left');
    walking = false;
    await walk;

    // Count in = count stored, read through the instance still running, including the people who
    // walked by before the server first ran: a new store group reads what Kafka still holds.
    const expected = people.started;
    const events = await waitFor(
      `all ${expected.size} tracks stored`,
      async () => {
        const list = await allPages<{ trackId: string }>(b, '/api/events');
        return list.length >= expected.size ? list : undefined;
      },
      60_000,
      1000,
    );
    assert.deepEqual(new Set(events.map((e) => e.trackId)), expected);

    // One alert per person, though cameras moved between the instances while people were in view.
    // Not for those who walked by before the server first ran: a new rules group starts at the end.
    const alerting = new Set([...expected].filter((t) => !before.has(t)));
    let alerts: Array<{ ruleId: string; trackIds: string[]; reason: string }> = [];
    await waitFor(
      'an alert for every person',
      async () => {
        alerts = await allPages(b, '/api/alerts');
        return alerts.length >= alerting.size;
      },
      60_000,
      1000,
    ).catch((err: Error) => {
      const alerted = new Set(alerts.map((x) => x.trackIds[0]));
      throw new Error(
        `${err.message}: ${alerts.length} alerts; none for ${[...alerting].filter((t) => !alerted.has(t)).join(' ')}`,
      );
    });
    const keys = alertKeys(alerts);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate alerts');
    assert.deepEqual(new Set(alerts.map((x) => x.trackIds[0])), alerting);
    assert.equal(await procs.stop(b.proc), 0);
  });
});
