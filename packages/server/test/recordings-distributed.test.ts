/**
 * Distributed playback without Kafka: the recordings stay on the device. A device data directory
 * holds real fMP4 segments (ffmpeg, from the sample footage); the device's RecordingManager
 * indexes them and reports them on the bus (recording.v1), its EdgeAgent's heartbeat carries the
 * URL of its media endpoint (real node:http on 127.0.0.1). The server, whose own data directory
 * has no recordings, ingests both, and plays and exports the range by fetching the segments
 * from the device: ffmpeg decodes the HLS playlist over HTTP and ffprobe measures the export.
 * A wrong or missing token, and a device that is down, answer a clear 502 that names the device.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { silentLogger } from '@iceberg/common';
import { IcebergConfig } from '@iceberg/config';
import { EdgeAgent, RecordingHttpServer, RecordingManager } from '@iceberg/edge';
import type { FastifyInstance } from 'fastify';
import { UrlSigner } from '../src/auth/url-signer.ts';
import { buildApi } from '../src/http/api.ts';
import { Ingest } from '../src/ingest/ingest.ts';
import { RecordingIngest } from '../src/ingest/recording-ingest.ts';
import { CompositeSegmentReader, HttpSegmentReader } from '../src/recordings/http-segment-reader.ts';
import { LocalSegmentReader } from '../src/recordings/segment-reader.ts';
import { RecordingService } from '../src/services/recording.service.ts';
import { createHarness, type Harness } from './api-harness.ts';
import { cutSegments, decodedFrames, FPS, probeDuration, until } from './recording-fixtures.ts';

const A = 'owner@org-a.test';
const DEVICE = 'edge-7';
const CAMERA = 'gate';
const TOKEN = 'edge-7-media-token-0123456789abcdef';

describe('recordings in distributed mode: fetched from the device on demand', { timeout: 60_000 }, () => {
  let h: Harness;
  let bus: Bus;
  let ingest: Ingest;
  let recordingIngest: RecordingIngest;
  let deviceDir: string;
  let manager: RecordingManager;
  let endpoint: RecordingHttpServer;
  let agent: EdgeAgent;
  let app: FastifyInstance;
  let base: string;
  const signer = UrlSigner.random();
  const readers: HttpSegmentReader[] = [];
  const apps: FastifyInstance[] = [];
  const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  let refs: string[] = [];
  let segments: Array<{ startedAt: number; endedAt: number; durationMs: number }>;

  /** An API whose recordings read the server's disk first, then the devices with `tokens`. */
  async function appWith(tokens: Record<string, string>): Promise<FastifyInstance> {
    const remote = new HttpSegmentReader({ devices: h.store.devices, tokens, timeoutMs: 5_000 });
    readers.push(remote);
    const recordings = new RecordingService({
      store: h.store,
      reader: new CompositeSegmentReader(new LocalSegmentReader(h.deps.dataDir), remote),
      signer,
      clock: h.deps.clock,
      logger: silentLogger(),
      ffmpegPath: 'ffmpeg',
    });
    const built = await buildApi({ ...h.deps, mediaSigner: signer, recordings });
    apps.push(built);
    return built;
  }

  /** The range list of this test's API (its links are signed with the shared signer). */
  async function list(from: number, to: number) {
    return app.inject({
      method: 'GET',
      url: `/api/cameras/${CAMERA}/recordings?from=${from}&to=${to}`,
      headers: { authorization: `Bearer ${await h.login(A)}` },
    });
  }

  async function links(): Promise<{ playbackUrl: string; exportUrl: string; from: number; to: number }> {
    const from = T0 - 5_000;
    const to = (segments.at(-1)?.endedAt ?? T0) + 5_000;
    const r = await list(from, to);
    assert.equal(r.statusCode, 200, r.body);
    return { ...(r.json() as { playbackUrl: string; exportUrl: string }), from, to };
  }

  before(async () => {
    h = await createHarness();
    bus = new Bus(new MemoryBus(), { logger: silentLogger() });
    const deps = { bus, store: h.store, hub: h.deps.hub, metrics: h.deps.metrics, logger: silentLogger() };
    ingest = new Ingest({ ...deps, detectionSampleSeconds: 1 });
    recordingIngest = new RecordingIngest({ ...deps, clock: h.deps.clock });
    await ingest.start();
    await recordingIngest.start();

    // The device: its own data directory, 35 s of recording, its index, its endpoint and heartbeat.
    deviceDir = mkdtempSync(join(tmpdir(), 'iceberg-device-'));
    refs = cutSegments(deviceDir, { org: h.orgs.a, camera: CAMERA, startedAt: T0, seconds: 35 }).map(
      (s) => s.path,
    );
    const config = IcebergConfig.parse({
      org: h.orgs.a,
      device: { id: DEVICE },
      dataDir: deviceDir,
      recording: {
        freeSpaceFloor: { bytes: 0, percent: 0 },
        http: { enabled: true, host: '127.0.0.1', port: 0, token: TOKEN },
      },
    });
    manager = new RecordingManager(config, { publish: async () => undefined, logger: silentLogger() });
    endpoint = new RecordingHttpServer({
      config: config.recording.http,
      dataDir: deviceDir,
      orgId: config.org,
      lookup: (p) => manager.segmentByPath(p),
    });
    agent = new EdgeAgent(config, {
      bus,
      // no cameras here: a detector that is never asked
      detectors: [
        {
          name: 'idle',
          inputSize: { width: 416, height: 416 },
          detect: async () => ({ detections: [], inferenceMs: 0 }),
          close: async () => undefined,
        },
      ],
      createSource: () => {
        throw new Error('no cameras in this test');
      },
      snapshots: null,
      recordings: manager,
      mediaEndpoint: endpoint,
      logger: silentLogger(),
    });
    await agent.start();
    // What the recorder reported as it closed each segment: the device's own index entries.
    for (const ref of refs) {
      const s = manager.segmentByPath(ref)?.segment;
      assert.ok(s, `${ref} is in the device's index`);
      await bus.publish('recordings', {
        schema: 'recording.v1',
        type: 'SegmentRecorded',
        orgId: h.orgs.a,
        deviceId: DEVICE,
        cameraId: CAMERA,
        eventId: `${s.segmentId}:recorded`,
        at: s.endedAt + 200,
        segment: s,
      });
    }

    const rows = await until('the device index and heartbeat to reach the server', async () => {
      const device = await h.store.devices.get(h.orgs.a, DEVICE);
      const list = await h.store.recordings.listRange(h.orgs.a, CAMERA, { from: T0 - 1, to: T0 + 600_000 });
      return device?.status?.mediaUrl && list.length === refs.length ? list : null;
    });
    segments = rows;
    app = await appWith({ [`${h.orgs.a}/${DEVICE}`]: TOKEN });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    for (const a of apps) await a.close();
    for (const r of readers) r.close();
    await agent?.stop();
    await endpoint?.stop();
    await recordingIngest?.stop();
    await ingest?.stop();
    await bus?.close();
    await h?.close();
    if (deviceDir) rmSync(deviceDir, { recursive: true, force: true });
  });

  test("the heartbeat advertises the device's media endpoint; the server's disk has no recordings", async () => {
    const device = await h.store.devices.get(h.orgs.a, DEVICE);
    assert.equal(device?.status?.mediaUrl, endpoint.url);
    assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(existsSync(join(h.deps.dataDir, 'recordings')), false);
    assert.equal(segments.length, 4);
  });

  test('the HLS playlist plays from the device: each entry decodes with its duration, every frame is there', async () => {
    const { playbackUrl } = await links();
    const playlist = await app.inject({ method: 'GET', url: playbackUrl });
    assert.equal(playlist.statusCode, 200, playlist.body);
    const durations = [...playlist.body.matchAll(/^#EXTINF:([\d.]+),/gm)].map((m) => Number(m[1]));
    assert.equal(durations.length, segments.length);
    for (const [i, s] of segments.entries())
      assert.ok(Math.abs((durations[i] ?? 0) - s.durationMs / 1000) < 0.05, `entry ${i}`);
    // every entry, its init part and its media part fetched through the server over HTTP
    const dir = mkdtempSync(join(tmpdir(), 'iceberg-dist-hls-'));
    let init = '';
    let frames = 0;
    let entry = 0;
    for (const line of playlist.body.split('\n')) {
      const map = /^#EXT-X-MAP:URI="([^"]+)"$/.exec(line);
      if (map) init = map[1] as string;
      if (!line.endsWith('.m4s')) continue;
      const url = (rel: string) => `${base}${playbackUrl.replace('playlist.m3u8', rel)}`;
      const parts = await Promise.all(
        [init, line].map(async (rel) => {
          const res = await fetch(url(rel));
          assert.equal(res.status, 200, rel);
          return Buffer.from(await res.arrayBuffer());
        }),
      );
      const file = join(dir, `entry-${entry}.mp4`);
      writeFileSync(file, Buffer.concat(parts));
      const seconds = probeDuration(file);
      assert.ok(Math.abs(seconds - (durations[entry] ?? 0)) <= 0.15, `entry ${entry}: ${seconds} s`);
      frames += await decodedFrames(file);
      entry++;
    }
    rmSync(dir, { recursive: true, force: true });
    let recorded = 0;
    for (const ref of refs) recorded += await decodedFrames(join(deviceDir, ref));
    assert.equal(frames, recorded, "every frame of the device's files is in the playlist");
    assert.ok(Math.abs(frames / FPS - 35) <= 1, `${frames / FPS} s of a 35 s recording`);
  });

  test('the export copies the remote segments and has the range’s duration', async () => {
    const first = segments[0] as { startedAt: number };
    const from = first.startedAt + 3_000;
    const to = first.startedAt + 23_000;
    const r = await list(from, to);
    const { exportUrl } = r.json() as { exportUrl: string };
    const res = await fetch(`${base}${exportUrl}`);
    assert.equal(res.status, 200);
    const file = join(deviceDir, 'export-check.mp4');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const seconds = probeDuration(file);
    // cuts fall on keyframes (1 s apart): the clip starts at the keyframe at or before `from`
    assert.ok(seconds >= 19.5 && seconds <= 21.5, `export of ${seconds} s for a 20 s range`);
  });

  test('a wrong or missing token: the playback answers a clear 502 naming the device', async () => {
    const { playbackUrl } = await links();
    const wrong = await appWith({ [`${h.orgs.a}/${DEVICE}`]: 'a-wrong-token-of-24-characters-or-more' });
    const r = await wrong.inject({ method: 'GET', url: playbackUrl });
    assert.equal(r.statusCode, 502, r.body);
    const body = (r.json() as { error: { code: string; message: string } }).error;
    assert.equal(body.code, 'ICEBERG_ERR_DEVICE_UNREACHABLE');
    assert.match(body.message, /recording device edge-7 .*refused the server's token/);
    const none = await (await appWith({})).inject({ method: 'GET', url: playbackUrl });
    assert.equal(none.statusCode, 502);
    assert.match((none.json() as { error: { message: string } }).error.message, /no media token for it/);
  });

  test('the device down: playlist, segment and export answer 502 "cannot be reached", never 500', async () => {
    const { playbackUrl, exportUrl } = await links();
    // the main app knows the segments' layouts: its playlist still lists them
    const listed = await app.inject({ method: 'GET', url: playbackUrl });
    assert.equal(listed.statusCode, 200);
    const part = /^(seg\/[^\s]+\/media\.m4s)$/m.exec(listed.body)?.[1];
    assert.ok(part);
    await endpoint.stop();
    const tokenBase = playbackUrl.replace(/playlist\.m3u8$/, '');
    const fresh = await appWith({ [`${h.orgs.a}/${DEVICE}`]: TOKEN });
    for (const [which, url] of [
      [fresh, playbackUrl],
      [app, `${tokenBase}${part}`],
      [app, exportUrl],
    ] as const) {
      const r = await which.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 502, `${url}: ${r.body}`);
      assert.match(
        (r.json() as { error: { message: string } }).error.message,
        /the recording device edge-7 cannot be reached: .*ECONNREFUSED/,
      );
    }
  });
});
