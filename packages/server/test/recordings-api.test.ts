/**
 * Recordings end to end on the server: real fMP4 segments cut by ffmpeg from the sample footage,
 * reported on the bus (recording.v1), listed with their gap, played as HLS VOD (ffmpeg decodes
 * the playlist over HTTP: every frame of the range is there), exported as one MP4 of the right
 * duration (ffprobe), and nothing of it reachable from another organisation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Bus, MemoryBus } from '@iceberg/bus';
import { silentLogger } from '@iceberg/common';
import type { RecordingEventV1, RecordingSegmentV1 } from '@iceberg/contracts';
import { RecordingIngest } from '../src/ingest/recording-ingest.ts';
import { createHarness, type Harness } from './api-harness.ts';
import { cutSegments, decodedFrames, FPS, probeDuration, until } from './recording-fixtures.ts';

const A = 'owner@org-a.test';
const B = 'owner@org-b.test';

interface RangeView {
  segments: Array<{ segmentId: string; startedAt: number; endedAt: number; durationMs: number }>;
  gaps: Array<{ from: number; to: number }>;
  totals: { segments: number; bytes: number; recordedMs: number; gapMs: number };
  playbackUrl: string | null;
  exportUrl: string | null;
}

function recorded(org: string, camera: string, segment: RecordingSegmentV1): RecordingEventV1 {
  return {
    schema: 'recording.v1',
    type: 'SegmentRecorded',
    orgId: org,
    deviceId: 'edge-1',
    cameraId: camera,
    eventId: `${segment.segmentId}:recorded`,
    at: segment.endedAt + 200,
    segment,
  };
}

describe('recordings: list, HLS VOD playback and export', { timeout: 120_000 }, () => {
  let h: Harness;
  let bus: Bus;
  let ingest: RecordingIngest;
  let base: string;
  // an hour ago, on a whole second: the range is in the past, its gaps are real
  const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  let run1: RecordingSegmentV1[];
  let run2: RecordingSegmentV1[];

  before(async () => {
    h = await createHarness();
    bus = new Bus(new MemoryBus(), { logger: silentLogger() });
    ingest = new RecordingIngest({
      bus,
      store: h.store,
      hub: h.deps.hub,
      metrics: h.deps.metrics,
      logger: silentLogger(),
      clock: h.deps.clock,
    });
    await ingest.start();
    // 35 s of recording, a 60 s outage, then 20 s more (a new ffmpeg run: timestamps start again)
    run1 = cutSegments(h.deps.dataDir, { org: h.orgs.a, camera: 'door', startedAt: T0, seconds: 35 });
    run2 = cutSegments(h.deps.dataDir, {
      org: h.orgs.a,
      camera: 'door',
      startedAt: run1.at(-1)!.endedAt + 60_000,
      offset: 40,
      seconds: 20,
    });
    for (const s of [...run1, ...run2]) await bus.publish('recordings', recorded(h.orgs.a, 'door', s));
    await until(
      'the segments to be indexed',
      async () =>
        (await h.store.recordings.listRange(h.orgs.a, 'door', { from: T0, to: T0 + 600_000 })).length ===
        run1.length + run2.length,
    );
    base = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await ingest?.stop();
    await bus?.close();
    await h?.close();
  });

  async function list(email: string, camera: string, from: number, to: number) {
    return h.as(email, { method: 'GET', url: `/api/cameras/${camera}/recordings?from=${from}&to=${to}` });
  }

  test('a range lists its segments, the outage as a gap, totals and signed links', async () => {
    const from = T0 - 5_000;
    const to = run2.at(-1)!.endedAt + 5_000;
    const r = await list(A, 'door', from, to);
    assert.equal(r.statusCode, 200, r.body);
    const view = r.json() as RangeView;
    assert.equal(view.segments.length, run1.length + run2.length);
    assert.deepEqual(
      view.segments.map((s) => s.startedAt),
      [...run1, ...run2].map((s) => s.startedAt),
    );
    const outage = view.gaps.find((g) => g.from === run1.at(-1)!.endedAt);
    assert.ok(outage, `the outage is a gap: ${JSON.stringify(view.gaps)}`);
    assert.equal(outage.to, run2[0]!.startedAt);
    assert.equal(view.gaps.length, 3, 'before the first segment, the outage, after the last');
    const recordedMs = [...run1, ...run2].reduce((n, s) => n + s.durationMs, 0);
    assert.equal(view.totals.recordedMs, recordedMs);
    assert.equal(view.totals.gapMs, to - from - recordedMs);
    assert.match(view.playbackUrl ?? '', /^\/media\/recordings\/v1\.[\w-]+\.[\w-]+\/playlist\.m3u8$/);
    assert.match(view.exportUrl ?? '', /\/export\.mp4$/);
  });

  test('the playlist plays every frame of the range, with real times and a discontinuity at the outage', async () => {
    const view = (await list(A, 'door', T0, run2.at(-1)!.endedAt)).json() as RangeView;
    const r = await fetch(`${base}${view.playbackUrl}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /mpegurl/);
    const text = await r.text();
    assert.match(text, /^#EXTM3U/);
    assert.match(text, /#EXT-X-ENDLIST/);
    assert.equal((text.match(/#EXTINF/g) ?? []).length, run1.length + run2.length);
    assert.ok(text.includes(`#EXT-X-PROGRAM-DATE-TIME:${new Date(run2[0]!.startedAt).toISOString()}`));
    const before2 = text.split(`#EXT-X-PROGRAM-DATE-TIME:${new Date(run2[0]!.startedAt).toISOString()}`)[0]!;
    assert.match(
      before2,
      /#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="[^"]+"\n$/,
      'the outage starts a new timeline',
    );

    // every entry (its init part + its media part) decodes, and together they hold every frame recorded
    const dir = mkdtempSync(join(tmpdir(), 'iceberg-hls-test-'));
    let init = '';
    let frames = 0;
    let entries = 0;
    for (const line of text.split('\n')) {
      const map = /^#EXT-X-MAP:URI="([^"]+)"$/.exec(line);
      if (map) init = map[1]!;
      if (!line.endsWith('.m4s')) continue;
      const url = (rel: string) => `${base}${view.playbackUrl!.replace('playlist.m3u8', rel)}`;
      const parts = await Promise.all(
        [init, line].map(async (rel) => Buffer.from(await (await fetch(url(rel))).arrayBuffer())),
      );
      const file = join(dir, `entry-${entries++}.mp4`);
      writeFileSync(file, Buffer.concat(parts));
      frames += await decodedFrames(file);
    }
    let recordedFrames = 0;
    for (const s of [...run1, ...run2]) recordedFrames += await decodedFrames(join(h.deps.dataDir, s.path));
    assert.equal(frames, recordedFrames, 'every recorded frame is in the playlist');
    const seconds = frames / FPS;
    assert.ok(Math.abs(seconds - 55) <= 1, `the playlist holds ${seconds} s of a 35 s + 20 s recording`);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a range exports as one MP4 of the right duration, as a download', async () => {
    const from = T0 + 3_500;
    const to = T0 + 28_000;
    const view = (await list(A, 'door', from, to)).json() as RangeView;
    assert.ok(view.exportUrl);
    const r = await fetch(`${base}${view.exportUrl}`);
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(r.headers.get('content-type'), 'video/mp4');
    const stamp = (ms: number) =>
      new Date(ms)
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replace(/[-:]/g, '');
    assert.equal(
      r.headers.get('content-disposition'),
      `attachment; filename="door_${stamp(from)}_${stamp(to)}.mp4"`,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'iceberg-export-test-')), 'clip.mp4');
    writeFileSync(file, Buffer.from(await r.arrayBuffer()));
    const duration = probeDuration(file);
    // cuts fall on keyframes (1 s apart here): up to one second more at the start
    assert.ok(duration >= 24.4 && duration <= 25.6, `exported ${duration} s of a 24.5 s range`);
    const frames = await decodedFrames(file);
    assert.ok(Math.abs(frames - duration * FPS) <= 2, `${frames} frames decode from ${duration} s`);
    // the MP4 plays while it downloads: its index (moov) comes before the media (mdat)
    const bytes = readFileSync(file);
    assert.ok(bytes.indexOf('moov') < bytes.indexOf('mdat'), 'faststart');
    rmSync(join(file, '..'), { recursive: true, force: true });
  });

  test('across the outage the export joins what was recorded', async () => {
    const from = run1.at(-1)!.startedAt;
    const to = run2[0]!.endedAt;
    const view = (await list(A, 'door', from, to)).json() as RangeView;
    const dir = mkdtempSync(join(tmpdir(), 'iceberg-export-test-'));
    const file = join(dir, 'clip.mp4');
    writeFileSync(file, Buffer.from(await (await fetch(`${base}${view.exportUrl}`)).arrayBuffer()));
    const expected = (run1.at(-1)!.durationMs + run2[0]!.durationMs) / 1000;
    const duration = probeDuration(file);
    assert.ok(Math.abs(duration - expected) <= 1, `exported ${duration} s, recorded ${expected} s`);
    rmSync(dir, { recursive: true, force: true });
  });

  test('bad ranges are 400; another organisation’s camera is 404 and its links are 403', async () => {
    assert.equal((await list(A, 'door', T0 + 10_000, T0)).statusCode, 400);
    assert.equal((await list(A, 'door', T0, T0)).statusCode, 400);
    const tooLong = await list(A, 'door', T0, T0 + 25 * 3_600_000);
    assert.equal(tooLong.statusCode, 400);
    assert.match(tooLong.json().error.message, /longer than 24 hours/);
    assert.equal(
      (await h.as(A, { method: 'GET', url: '/api/cameras/door/recordings?from=yesterday' })).statusCode,
      400,
    );
    assert.equal((await list(B, 'door', T0, T0 + 60_000)).statusCode, 404);
    assert.equal(
      (await h.app.inject({ method: 'GET', url: `/api/cameras/door/recordings` })).statusCode,
      401,
    );

    const view = (await list(A, 'door', T0, T0 + 60_000)).json() as RangeView;
    const url = view.playbackUrl!;
    const tokenB = await h.login(B);
    const asB = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${tokenB}` } });
    assert.equal(asB.status, 403, 'a link of organisation A used by a user of B');
    const tokenA = await h.login(A);
    assert.equal(
      (await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${tokenA}` } })).status,
      200,
    );
    const forged = url.replace(/\.([\w-]+)\.([\w-]+)\//, (_m, body: string) => `.${body}.${'A'.repeat(43)}/`);
    assert.equal((await fetch(`${base}${forged}`)).status, 403);
    const part = (await (await fetch(`${base}${url}`)).text())
      .split('\n')
      .find((l) => l.endsWith('media.m4s'))!;
    const partUrl = `${base}${url.replace('playlist.m3u8', part)}`;
    const media = await fetch(partUrl);
    assert.equal(media.status, 200);
    assert.ok(Number(media.headers.get('content-length')) > 100_000);
    // a segment outside the link's range is not served with it
    const outside = partUrl.replace(/seg\/[^/]+\//, `seg/${encodeURIComponent(run2[0]!.segmentId)}/`);
    assert.equal((await fetch(outside)).status, 404);
  });

  test('a hostile path reported by a device never reads outside the organisation’s recordings', async () => {
    // organisation B reports a segment whose path points into A's folder
    const victim = run1[0]!;
    await h.store.cameras.create({
      orgId: h.orgs.b,
      id: 'door',
      deviceId: 'edge-b',
      name: 'door',
      input: '',
    });
    await bus.publish('recordings', recorded(h.orgs.b, 'door', { ...victim, path: victim.path }));
    await until('B’s row', () => h.store.recordings.get(h.orgs.b, 'door', victim.segmentId));
    const view = (await list(B, 'door', T0, T0 + 60_000)).json() as RangeView;
    assert.equal(view.segments.length, 1, 'the index lists what the device said');
    const r = await fetch(`${base}${view.playbackUrl}`);
    assert.equal(r.status, 404, 'but the file of another organisation is never served');
  });

  test('deleted segments leave the list; a full disk raises one alert in the inbox', async () => {
    const gone = run1[0]!.segmentId;
    await bus.publish('recordings', {
      schema: 'recording.v1',
      type: 'SegmentsDeleted',
      orgId: h.orgs.a,
      deviceId: 'edge-1',
      cameraId: 'door',
      eventId: 'del-1',
      at: T0 + 900_000,
      segmentIds: [gone],
      reason: 'max_age',
    });
    await until(
      'the deletion',
      async () => (await h.store.recordings.get(h.orgs.a, 'door', gone))?.deletedAt,
    );
    const view = (await list(A, 'door', T0, T0 + 60_000)).json() as RangeView;
    assert.ok(!view.segments.some((s) => s.segmentId === gone));

    const paused: RecordingEventV1 = {
      schema: 'recording.v1',
      type: 'RecordingStateChanged',
      orgId: h.orgs.a,
      deviceId: 'edge-1',
      cameraId: 'door',
      eventId: 'state-1',
      at: T0 + 901_000,
      state: 'paused',
      reason: 'disk_full',
      freeBytes: 1.5 * 1024 ** 3,
    };
    await bus.publish('recordings', paused);
    await bus.publish('recordings', paused); // replayed
    const alerts = await until('the disk-full alert', async () => {
      const r = await h.as(A, { method: 'GET', url: '/api/alerts?ruleId=system:disk-full' });
      const items = (r.json() as { items: Array<{ ruleId: string; message: string; cameraId: string }> })
        .items;
      return items.length > 0 ? items : undefined;
    });
    await new Promise((r) => setTimeout(r, 200));
    const again = await h.as(A, { method: 'GET', url: '/api/alerts?ruleId=system:disk-full' });
    assert.equal(again.json().items.length, 1, 'one alert per pause, however often it is delivered');
    assert.match(
      alerts[0]!.message,
      /Recording paused on door: the disk of device edge-1 is almost full \(1\.5 GB free\)/,
    );
    const other = await h.as(B, { method: 'GET', url: '/api/alerts?ruleId=system:disk-full' });
    assert.equal(other.json().items.length, 0);
  });
});
