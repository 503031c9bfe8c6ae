import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { silentLogger } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import type { CameraStatusV1, DetectionFrameV1, DeviceStatusV1, TrackEventV1 } from '@iceberg/contracts';
import { createEdgeAgent, type EdgeAgent } from '@iceberg/edge';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('edge agent on the in-process bus, real ffmpeg and model', { timeout: 90_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iceberg-edge-'));
  const bus = new Bus(new MemoryBus());
  const detections: DetectionFrameV1[] = [];
  const tracks: TrackEventV1[] = [];
  const statuses: CameraStatusV1[] = [];
  const devices: DeviceStatusV1[] = [];
  let agent: EdgeAgent;
  let stopped = false;

  // The sample under a name of this test's own, to find this test's ffmpeg processes by it.
  const input = join(dataDir, 'lobby-camera.mp4');
  const ffmpegRunning = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .some((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(input);
        } catch {
          return false;
        }
      });

  before(async () => {
    symlinkSync(join(root, 'assets/samples/vtest.mp4'), input);
    const port = await closedPort();
    const config = loadConfig({
      baseDir: root,
      overrides: {
        org: 'acme',
        device: { id: 'edge-test' },
        dataDir,
        heartbeatSeconds: 1,
        cameras: [
          { id: 'lobby', input, loop: true, realtime: true },
          { id: 'gate', input: `rtsp://viewer:secret@127.0.0.1:${port}/stream1` },
        ],
      },
    });
    await bus.subscribe('detections', { group: 't' }, async (m) => void detections.push(m));
    await bus.subscribe('tracks', { group: 't' }, async (m) => void tracks.push(m));
    await bus.subscribe('cameraStatus', { group: 't' }, async (m) => void statuses.push(m));
    await bus.subscribe('deviceStatus', { group: 't' }, async (m) => void devices.push(m));
    agent = await createEdgeAgent(config, { bus, logger: silentLogger() });
    await agent.start();
  });

  after(async () => {
    if (!stopped) await agent.stop();
    await bus.close();
  });

  test('a working camera goes online with its stream described', async () => {
    await until('lobby online', () => statuses.some((s) => s.cameraId === 'lobby' && s.state === 'online'));
    const online = statuses.find((s) => s.cameraId === 'lobby' && s.state === 'online')!;
    assert.deepEqual(
      { ...online.stream, fps: undefined },
      { width: 768, height: 576, codec: 'h264', fps: undefined },
    );
    assert.equal(online.orgId, 'acme');
    assert.equal(online.deviceId, 'edge-test');
    assert.equal(online.problem, null);
  });

  test('people are detected and published about twice a second, keyed to the camera', async () => {
    await until('6 detection frames', () => detections.filter((d) => d.cameraId === 'lobby').length >= 6);
    const lobby = detections.filter((d) => d.cameraId === 'lobby');
    assert.ok(lobby.every((d) => d.frame.width === 768 && d.frame.height === 576));
    assert.ok(lobby.filter((d) => d.objects.some((o) => o.class === 'person')).length >= 5);
    const span = (lobby.at(-1)!.capturedAt - lobby[0]!.capturedAt) / 1000;
    const rate = (lobby.length - 1) / span;
    assert.ok(rate > 1.2 && rate < 2.5, `${rate.toFixed(2)} analysed frames/s at fps 2`);
  });

  test('a confirmed person starts a track with a JPEG snapshot on disk', async () => {
    await until('a TrackStarted with a snapshot', () =>
      tracks.some((t) => t.type === 'TrackStarted' && t.snapshot),
    );
    const started = tracks.find((t) => t.type === 'TrackStarted' && t.snapshot)!;
    assert.equal(started.class, 'person');
    assert.match(started.trackId, /^lobby-/);
    assert.match(
      started.snapshot!.ref,
      /^snapshots\/acme\/lobby\/\d{8}\/lobby-.+\.jpg$/,
      'one folder per organisation and camera',
    );
    const file = join(dataDir, started.snapshot!.ref);
    assert.ok(existsSync(file), file);
    const jpeg = readFileSync(file);
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    assert.deepEqual([started.snapshot!.width, started.snapshot!.height], [640, 480]);
  });

  test('an unreachable camera is offline with its reason, then retried, with its password hidden', async () => {
    await until('gate offline', () => statuses.some((s) => s.cameraId === 'gate' && s.state === 'offline'));
    const offline = statuses.find((s) => s.cameraId === 'gate' && s.state === 'offline')!;
    assert.equal(offline.problem?.code, 'unreachable');
    assert.ok(offline.retryAt && offline.retryAt > offline.at);
    assert.doesNotMatch(JSON.stringify(statuses), /secret/);
    const at = statuses.indexOf(offline);
    await until('gate retried', () =>
      statuses.slice(at + 1).some((s) => s.cameraId === 'gate' && s.state === 'connecting'),
    );
    // The working camera is not disturbed by the broken one.
    assert.ok(!statuses.some((s) => s.cameraId === 'lobby' && s.state === 'offline'));
  });

  test('heartbeats report the cameras and the detector load', async () => {
    await until('2 heartbeats', () => devices.length >= 2);
    const last = devices.at(-1)!;
    assert.equal(last.state, 'running');
    assert.deepEqual(last.cameras.map((c) => c.cameraId).sort(), ['gate', 'lobby']);
    await until('an inference counted', () => (devices.at(-1)?.detector.inferencesPerSecond ?? 0) > 0);
    assert.ok(devices.at(-1)!.detector.inferenceMsP50! > 0);
  });

  test('stopping ends every open track and leaves no ffmpeg behind', async () => {
    const open = new Set(tracks.filter((t) => t.type === 'TrackStarted').map((t) => t.trackId));
    for (const t of tracks) if (t.type === 'TrackEnded') open.delete(t.trackId);
    assert.ok(open.size > 0, 'some tracks are open before the stop');
    assert.ok(ffmpegRunning(), 'the camera process runs before the stop');
    await agent.stop();
    assert.equal(ffmpegRunning(), false, 'no ffmpeg left after the stop');
    stopped = true;
    await until(
      'TrackEnded for every open track',
      () => [...open].every((id) => tracks.some((t) => t.type === 'TrackEnded' && t.trackId === id)),
      5000,
    );
    await until('a stopping heartbeat', () => devices.some((d) => d.state === 'stopping'), 5000);
    // Every event about one track has a distinct id (consumers deduplicate on it).
    const ids = tracks.map((t) => t.eventId);
    assert.equal(new Set(ids).size, ids.length);
  });
});
