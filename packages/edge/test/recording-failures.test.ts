import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { RecordingEventV1, RecordingSegmentV1 } from '@iceberg/contracts';
import { CameraSource, type DiskSpace, RecordingManager } from '@iceberg/edge';
import { probe, quiet, ROOT, recordingBus, recordingConfig, testDir, until } from './recording-helpers.ts';

const recorded = (events: RecordingEventV1[]) =>
  events.flatMap((e) => (e.type === 'SegmentRecorded' ? [e.segment] : []));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('recording through failures (real ffmpeg)', { timeout: 60_000 }, () => {
  test('a camera outage (ffmpeg killed) leaves a gap, keeps the cut segment, and recording resumes by itself', async () => {
    const t = testDir('outage');
    after(() => t.remove());
    const config = recordingConfig({
      org: 'acme',
      dataDir: t.dir,
      cameras: [{ id: 'door', input: t.input, loop: true, realtime: true, record: { segmentSeconds: 2 } }],
    });
    const { bus, events } = await recordingBus();
    const manager = new RecordingManager(config, {
      publish: (e) => bus.publish('recordings', e),
      logger: quiet,
      pollMs: 200,
    });
    await manager.start();
    const recorder = manager.recorder('door');
    assert.ok(recorder);
    const source = new CameraSource({
      cameraId: 'door',
      input: t.input,
      fps: 1,
      loop: true,
      realtime: true,
      viewMaxWidth: 64,
      initialBackoffMs: 2000,
      attemptOutputs: () => recorder.attemptOutputs(),
      logger: quiet,
    });
    recorder.attach(source);
    source.start();
    try {
      await until('two segments', () => recorded(events).length >= 2);
      await new Promise((r) => setTimeout(r, 1700)); // a fragment (1 s) into the third segment
      const pid = source.pid;
      assert.ok(pid);
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await until(
        'the camera back and recording again',
        () => recorded(events).some((s) => s.startedAt > killedAt + 1000),
        20_000,
      );
      await until(
        'a second segment after the outage',
        () => recorded(events).filter((s) => s.startedAt > killedAt).length >= 2,
        20_000,
      );
      const segments = recorded(events);
      const before = segments.filter((s) => s.startedAt < killedAt);
      const afterOutage = segments.filter((s) => s.startedAt > killedAt);
      const cut = before[before.length - 1];
      const resumed = afterOutage[0];
      assert.ok(cut && resumed);
      // The segment being written when ffmpeg died is kept up to its last whole fragment (1 s
      // keyframes): less than one segment (2 s) is lost, never the segments before it.
      assert.ok(killedAt - cut.endedAt <= 2500, `kept up to ${killedAt - cut.endedAt} ms before the kill`);
      assert.ok(before.length >= 3, 'the segments before the kill are kept');
      assert.equal(probe(join(t.dir, cut.path)).codec, 'h264');
      // The outage is a visible gap (the source waited ~2 s before reconnecting), then it records.
      const gap = resumed.startedAt - cut.endedAt;
      assert.ok(gap >= 1500, `a gap of ${gap} ms`);
      for (const [i, s] of segments.entries()) {
        const prev = segments[i - 1];
        if (prev && s !== resumed)
          assert.ok(Math.abs(s.startedAt - prev.endedAt) <= 50, 'contiguous within a run');
        assert.ok(probe(join(t.dir, s.path)).frames > 0);
      }
      const states = events.flatMap((e) =>
        e.type === 'RecordingStateChanged' ? [`${e.state}/${e.reason ?? ''}`] : [],
      );
      const down = states.indexOf('waiting/camera_offline');
      assert.ok(down > 0, `went waiting: ${states.join(', ')}`);
      assert.ok(states.slice(down).includes('recording/'), `then recording again: ${states.join(', ')}`);
    } finally {
      await source.stop();
      await manager.stop();
    }
  });

  test('kill -9 of the recorder process: on restart its closed segments and the cut one are recovered', async () => {
    const t = testDir('crash');
    after(() => t.remove());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'packages/edge/test/recording-crash-child.ts'), t.dir, t.input],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    const seen = () =>
      lines.filter((l): l is RecordingSegmentV1 & Record<string, unknown> => 'segmentId' in l);
    await until('three segments from the child', () => seen().length >= 3, 40_000);
    await new Promise((r) => setTimeout(r, 1700)); // a fragment (1 s) into the next segment
    const ffmpegPid = lines.find((l) => 'pid' in l)?.pid as number;
    const killedAt = Date.now();
    // The device dies: the recorder and its ffmpeg, no chance to finish anything.
    child.kill('SIGKILL');
    if (ffmpegPid) process.kill(ffmpegPid, 'SIGKILL');
    await until('both gone', () => child.exitCode !== null || child.signalCode !== null, 10_000);
    await until('ffmpeg gone', () => !ffmpegPid || !alive(ffmpegPid), 10_000);
    const before = seen();
    const staging = join(t.dir, 'recordings/.staging/acme/yard');
    assert.ok(readdirSync(staging).length > 0, 'the run was left in staging');

    // Restart: recovery happens at start.
    const config = recordingConfig({
      org: 'acme',
      dataDir: t.dir,
      cameras: [{ id: 'yard', input: t.input, record: { segmentSeconds: 2 } }],
    });
    const { bus, events } = await recordingBus();
    const manager = new RecordingManager(config, {
      publish: (e) => bus.publish('recordings', e),
      logger: quiet,
    });
    await manager.start();
    await manager.stop();
    const index = manager.recorder('yard')?.index;
    assert.ok(index);
    const all = index.list().map((s) => s.segment);
    for (const s of before)
      assert.ok(
        all.some((a) => a.segmentId === s.segmentId),
        `${s.segmentId} kept`,
      );
    const last = all[all.length - 1];
    assert.ok(last && all.length > before.length, 'the segment in progress was recovered');
    assert.ok(killedAt - last.endedAt <= 2500, `lost less than a segment: ${killedAt - last.endedAt} ms`);
    assert.ok(probe(join(t.dir, last.path)).frames > 0, 'the recovered segment decodes');
    assert.ok(
      recorded(events).some((s) => s.segmentId === last.segmentId),
      'and is reported',
    );
    assert.deepEqual(readdirSync(staging), [], 'staging cleaned');
    // The index survives as the truth for the next start as well.
    const text = readFileSync(join(t.dir, 'recordings/acme/yard/index.jsonl'), 'utf8');
    assert.ok(text.includes(last.segmentId));
  });

  test('retention removes the oldest segments at the cap; below the disk floor recording pauses and resumes', async () => {
    const t = testDir('retention');
    after(() => t.remove());
    let space: DiskSpace = { freeBytes: 100e9, totalBytes: 200e9 };
    const config = recordingConfig({
      org: 'acme',
      dataDir: t.dir,
      cameras: [
        // Read as fast as possible: 79.5 s of footage gives eight 10 s segments in a few seconds.
        { id: 'hall', input: t.input, realtime: false, loop: false, record: { segmentSeconds: 10 } },
      ],
      recording: { checkSeconds: 3600, freeSpaceFloor: { bytes: 10e9, percent: 0, hysteresis: 0.1 } },
    });
    const { bus, events } = await recordingBus();
    const manager = new RecordingManager(config, {
      publish: (e) => bus.publish('recordings', e),
      logger: quiet,
      pollMs: 100,
      statDisk: async () => space,
    });
    await manager.start();
    const recorder = manager.recorder('hall');
    assert.ok(recorder);
    const source = new CameraSource({
      cameraId: 'hall',
      input: t.input,
      fps: 1,
      realtime: false,
      viewMaxWidth: 64,
      initialBackoffMs: 60_000,
      attemptOutputs: () => recorder.attemptOutputs(),
      logger: quiet,
    });
    recorder.attach(source);
    source.start();
    await until('eight segments', () => recorded(events).length >= 8, 40_000);
    await source.stop();
    await recorder.idle();
    const segments = recorder.index.list().map((s) => s.segment);
    const total = segments.reduce((sum, s) => sum + s.bytes, 0);

    // Protect the oldest (as an alert would), then cap the camera at 60 % of what it holds.
    const oldest = segments[0];
    assert.ok(oldest);
    await manager.protect('hall', oldest.startedAt, oldest.startedAt + 1);
    const capBytes = Math.floor(total * 0.6);
    (config.cameras[0] as { record: { retention: { maxSizeGB?: number } } }).record.retention.maxSizeGB =
      capBytes / 1024 ** 3;
    await manager.tick();
    const left = recorder.index.list().map((s) => s.segment);
    const leftBytes = left.reduce((sum, s) => sum + s.bytes, 0);
    assert.ok(leftBytes <= capBytes, `${leftBytes} bytes left under the cap ${capBytes}`);
    const deleted = events.flatMap((e) =>
      e.type === 'SegmentsDeleted' ? e.segmentIds.map((id) => [id, e.reason]) : [],
    );
    assert.ok(deleted.length > 0 && deleted.every(([, r]) => r === 'max_size'));
    // The oldest unprotected went first: what is left is the protected one plus the newest.
    const removedIds = new Set(deleted.map(([id]) => id));
    assert.ok(
      left.some((s) => s.segmentId === oldest.segmentId),
      'the protected segment stays',
    );
    const unprotected = segments.slice(1);
    const firstKept = unprotected.findIndex((s) => !removedIds.has(s.segmentId));
    assert.ok(
      unprotected.slice(firstKept).every((s) => !removedIds.has(s.segmentId)),
      'oldest first',
    );
    for (const id of removedIds) {
      const s = segments.find((x) => x.segmentId === id);
      assert.ok(s && !existsSync(join(t.dir, s.path)), `${id} removed from the disk`);
    }

    // The disk falls below the floor and nothing unprotected can free enough: recording pauses.
    space = { freeBytes: 1e9, totalBytes: 200e9 };
    await manager.tick();
    assert.ok(manager.paused);
    const paused = events.find((e) => e.type === 'RecordingStateChanged' && e.state === 'paused');
    assert.ok(paused && paused.type === 'RecordingStateChanged');
    assert.equal(paused.reason, 'disk_full');
    assert.equal(paused.freeBytes, 1e9);
    assert.ok(
      events.some((e) => e.type === 'SegmentsDeleted' && e.reason === 'free_space_floor'),
      'the oldest unprotected segments went for the floor first',
    );
    assert.ok(left.length > 0 && recorder.index.list().some((s) => s.protected), 'protected footage kept');
    // Above the floor but within the hysteresis: still paused; above it: resumed.
    space = { freeBytes: 10.5e9, totalBytes: 200e9 };
    await manager.tick();
    assert.ok(manager.paused, 'hysteresis');
    space = { freeBytes: 12e9, totalBytes: 200e9 };
    await manager.tick();
    assert.equal(manager.paused, false);
    const lastState = events.filter((e) => e.type === 'RecordingStateChanged').at(-1);
    assert.ok(lastState && lastState.type === 'RecordingStateChanged' && lastState.state !== 'paused');
    await manager.stop();
  });
});
