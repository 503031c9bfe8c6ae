import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { CameraStatusV1, SegmentRecordedV1 } from '@iceberg/contracts';
import { CameraSource, EdgeAgent, RecordingManager } from '@iceberg/edge';
import type { z } from 'zod';
import {
  decodeErrors,
  idleDetector,
  probe,
  quiet,
  recordingBus,
  recordingConfig,
  testDir,
  until,
} from './recording-helpers.ts';

type Recorded = z.infer<typeof SegmentRecordedV1>;

const t = testDir('sixty');
after(() => t.remove());

test('60 s from a simulated camera: 10 s segments that add up to 60 s, decode, and join into one timeline', {
  timeout: 120_000,
}, async () => {
  const config = recordingConfig({
    org: 'acme',
    dataDir: t.dir,
    cameras: [
      {
        id: 'gate',
        input: t.input,
        loop: true,
        realtime: true,
        detect: { enabled: false, fps: 1 },
        snapshots: { maxWidth: 64 },
      },
    ],
  });
  const { bus, events } = await recordingBus();
  let spawnedAt: number | undefined;
  const statuses: CameraStatusV1[] = [];
  await bus.subscribe('cameraStatus', { group: 'test' }, async (m) => void statuses.push(m));
  const recordings = new RecordingManager(config, {
    publish: (e) => bus.publish('recordings', e),
    logger: quiet,
    pollMs: 250,
  });
  // Wired as create-edge-agent does, with the detector left out (detection is off for the camera).
  const agent = new EdgeAgent(config, {
    bus,
    detectors: [idleDetector],
    snapshots: null,
    recordings,
    logger: quiet,
    createSource: (camera) => {
      const recorder = recordings.recorder(camera.id);
      assert.ok(recorder, 'a recorder per camera');
      const source = new CameraSource({
        cameraId: camera.id,
        input: camera.input,
        fps: camera.detect.fps,
        loop: camera.loop,
        realtime: camera.realtime,
        viewMaxWidth: camera.snapshots.maxWidth,
        attemptOutputs: () => {
          spawnedAt ??= Date.now();
          return recorder.attemptOutputs();
        },
        logger: quiet,
      });
      recorder.attach(source);
      return source;
    },
  });
  await agent.start();
  await until('the camera online', () => statuses.some((s) => s.state === 'online'), 30_000);
  const onlineAt = statuses.find((s) => s.state === 'online')?.at ?? 0;
  const recorded = () => events.filter((e): e is Recorded => e.type === 'SegmentRecorded');
  // Six closed 10 s segments is 60 s of video; then stop: ffmpeg closes the one in progress.
  await until('six segments', () => recorded().length >= 6, 90_000);
  const stoppedAt = Date.now();
  await agent.stop();

  const segments = recorded().map((e) => e.segment);
  const totalMs = segments.reduce((sum, s) => sum + s.durationMs, 0);
  assert.ok(totalMs >= 60_000, `at least 60 s recorded, got ${totalMs} ms`);
  const first = segments[0];
  const last = segments[segments.length - 1];
  assert.ok(first && last && spawnedAt, 'segments');
  // The file camera's first frame is read as ffmpeg starts: the first segment starts then (±0.5 s),
  // and the recording runs until the stop.
  assert.ok(
    Math.abs(first.startedAt - spawnedAt) <= 500,
    `first segment at the first frame (±0.5 s): ${first.startedAt - spawnedAt} ms after ffmpeg started (online ${onlineAt - spawnedAt} ms)`,
  );
  assert.ok(
    Math.abs(last.endedAt - stoppedAt) <= 1000,
    `recording ends at the stop: ${last.endedAt - stoppedAt} ms`,
  );
  assert.ok(Math.abs(totalMs - (stoppedAt - first.startedAt)) <= 1000, `${totalMs} ms recorded`);

  for (const [i, s] of segments.entries()) {
    if (i < 6) assert.ok(Math.abs(s.durationMs - 10_000) <= 300, `segment ${i} about 10 s: ${s.durationMs}`);
    assert.equal(s.reason, 'continuous');
    assert.equal(s.segmentId, `gate:${s.startedAt}`);
    const day = new Date(s.startedAt).toISOString().slice(0, 10).replaceAll('-', '');
    const hour = new Date(s.startedAt).toISOString().slice(11, 13);
    assert.equal(s.path, `recordings/acme/gate/${day}/${hour}/${s.startedAt}.mp4`);
    const prev = segments[i - 1];
    if (prev) assert.ok(Math.abs(s.startedAt - prev.endedAt) <= 50, `no gap between ${i - 1} and ${i}`);
    const file = join(t.dir, s.path);
    assert.ok(existsSync(file), `${s.path} on disk`);
    const p = probe(file);
    assert.deepEqual([p.codec, p.width, p.height], ['h264', 768, 576]);
    assert.deepEqual([s.codec, s.width, s.height], ['h264', 768, 576]);
    // 10 fps footage: the frames ffprobe decodes match the reported duration.
    assert.ok(
      Math.abs(p.frames - s.durationMs / 100) <= 2,
      `${s.path}: ${p.frames} frames for ${s.durationMs} ms`,
    );
  }

  // The segments of one run are one timeline: concatenated, they decode without a complaint
  // (what the server's HLS playlist and export rely on).
  const joined = join(t.dir, 'joined.mp4');
  writeFileSync(joined, Buffer.concat(segments.map((s) => readFileSync(join(t.dir, s.path)))));
  assert.equal(decodeErrors(joined), '');
  const framesJoined = probe(joined).frames;
  assert.ok(Math.abs(framesJoined - totalMs / 100) <= 3, `${framesJoined} frames joined for ${totalMs} ms`);

  // The device's own index holds them, and the recorder said it was recording.
  const index = readFileSync(join(t.dir, 'recordings/acme/gate/index.jsonl'), 'utf8');
  for (const s of segments) assert.ok(index.includes(s.segmentId), `${s.segmentId} indexed`);
  assert.ok(events.some((e) => e.type === 'RecordingStateChanged' && e.state === 'recording'));
  // Nothing is left in staging once the camera has stopped.
  const staging = join(t.dir, 'recordings/.staging/acme/gate');
  assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], []);
});
