import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { examples, type RecordingSegmentV1, type TrackEventV1 } from '@iceberg/contracts';
import { CameraSource, RecordingManager, type StoredSegment } from '@iceberg/edge';
import { probe, quiet, recordingBus, recordingConfig, testDir, until } from './recording-helpers.ts';

const overlaps = (s: RecordingSegmentV1, from: number, to: number) => s.startedAt < to && s.endedAt > from;

describe('events-only recording (real ffmpeg)', { timeout: 90_000 }, () => {
  test('keeps and reports only the segments a track reaches (± pre- and post-roll); the rest are removed', async () => {
    const t = testDir('events');
    after(() => t.remove());
    const config = recordingConfig({
      org: 'acme',
      dataDir: t.dir,
      cameras: [
        {
          id: 'gate',
          input: t.input,
          loop: true,
          realtime: true,
          record: { mode: 'events', segmentSeconds: 2, preRollSeconds: 1, postRollSeconds: 1 },
        },
      ],
    });
    const { bus, events } = await recordingBus();
    const manager = new RecordingManager(config, {
      publish: (e) => bus.publish('recordings', e),
      logger: quiet,
      pollMs: 200,
    });
    await manager.start();
    const recorder = manager.recorder('gate');
    assert.ok(recorder);
    const closed: StoredSegment[] = [];
    const decided = new Map<string, boolean>();
    recorder.on('segment', (s) => closed.push(s));
    recorder.on('decided', (s, kept) => decided.set(s.segment.segmentId, kept));
    const source = new CameraSource({
      cameraId: 'gate',
      input: t.input,
      fps: 1,
      loop: true,
      realtime: true,
      viewMaxWidth: 64,
      attemptOutputs: () => recorder.attemptOutputs(),
      logger: quiet,
    });
    recorder.attach(source);
    source.start();
    try {
      // A person is seen for one second, a few segments into the recording.
      await until('three closed segments', () => closed.length >= 3, 40_000);
      const seenFrom = Date.now();
      const seenTo = seenFrom + 1000;
      const track = (type: 'TrackStarted' | 'TrackEnded', at: number): TrackEventV1 =>
        ({
          ...examples.trackStarted,
          orgId: 'acme',
          cameraId: 'gate',
          trackId: 'walker',
          eventId: `walker:${type}`,
          type,
          at,
          firstSeenAt: seenFrom,
          lastSeenAt: at,
          ...(type === 'TrackEnded' ? { hits: 10 } : {}),
        }) as TrackEventV1;
      recorder.onTrackEvent(track('TrackStarted', seenFrom));
      await new Promise((r) => setTimeout(r, 1000));
      recorder.onTrackEvent(track('TrackEnded', seenTo));
      // Wait until segments well after the track (beyond the post-roll) are decided too.
      await until(
        'decisions past the post-roll',
        () => closed.some((s) => s.segment.startedAt > seenTo + 4000 && decided.has(s.segment.segmentId)),
        60_000,
      );
      const window = { from: seenFrom - 1000, to: seenTo + 1000 };
      const decidedSegments = closed.filter((s) => decided.has(s.segment.segmentId));
      const kept = decidedSegments.filter((s) => decided.get(s.segment.segmentId));
      const dropped = decidedSegments.filter((s) => !decided.get(s.segment.segmentId));
      assert.ok(kept.length >= 1, 'the segments the person is in are kept');
      assert.ok(
        dropped.some((s) => s.segment.endedAt <= window.from),
        'a segment before the pre-roll is removed',
      );
      assert.ok(
        dropped.some((s) => s.segment.startedAt >= window.to),
        'a segment after the post-roll is removed',
      );
      for (const s of decidedSegments) {
        const wanted = overlaps(s.segment, window.from, window.to);
        assert.equal(decided.get(s.segment.segmentId), wanted, `segment at ${s.segment.startedAt}`);
        assert.equal(existsSync(join(t.dir, s.segment.path)), wanted, 'kept on disk only when wanted');
      }
      // Only kept segments reach the server, as event recordings that play.
      await until('kept segments reported', () =>
        kept.every((k) =>
          events.some((e) => e.type === 'SegmentRecorded' && e.segment.segmentId === k.segment.segmentId),
        ),
      );
      const reported = events.flatMap((e) => (e.type === 'SegmentRecorded' ? [e.segment] : []));
      for (const r of reported) {
        assert.equal(r.reason, 'event');
        assert.ok(
          kept.some((k) => k.segment.segmentId === r.segmentId) || !decided.has(r.segmentId),
          'nothing dropped is reported',
        );
      }
      for (const k of kept) assert.equal(probe(join(t.dir, k.segment.path)).codec, 'h264');
    } finally {
      await source.stop();
      await manager.stop();
    }
  });
});
