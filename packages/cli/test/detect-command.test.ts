import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const iceberg = join(root, 'packages/cli/bin/iceberg');
const sample = join(root, 'assets/samples/vtest.avi');
const tmp = mkdtempSync(join(tmpdir(), 'iceberg-cli-'));

interface FrameLine {
  t: number;
  objects: Array<{
    class: string;
    score: number;
    box: [number, number, number, number];
    trackId: string | null;
  }>;
}

function run(args: string[], timeout = 120_000) {
  const r = spawnSync(iceberg, args, {
    encoding: 'utf8',
    timeout,
    env: { ...process.env, ICEBERG_LOG_LEVEL: 'warn' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('iceberg detect on real footage (OpenCV vtest.avi: pedestrians)', { timeout: 180_000 }, () => {
  const annotated = join(tmp, 'annotated.mp4');
  const result = run(['detect', sample, '--json', '--fps', '2', '--annotate', annotated]);
  const lines = result.stdout.trim().split('\n');
  const frames = lines.slice(0, -1).map((l) => JSON.parse(l) as FrameLine);
  const summary = JSON.parse(lines.at(-1)!) as { summary: Record<string, unknown> };

  test('it exits 0 and prints one JSON line per sampled frame, then the summary', () => {
    assert.equal(result.code, 0, result.stderr);
    assert.ok(frames.length >= 158 && frames.length <= 160, `${frames.length} frames for 79.5 s at 2 fps`);
    for (const [i, f] of frames.entries()) assert.equal(f.t, i * 0.5);
    assert.deepEqual(Object.keys(summary), ['summary']);
    assert.equal(summary.summary.frames, frames.length);
  });

  test('each object has exactly class, score, box (normalised x, y, w, h) and trackId', () => {
    for (const f of frames) {
      assert.deepEqual(Object.keys(f), ['t', 'objects']);
      for (const o of f.objects) {
        assert.deepEqual(Object.keys(o), ['class', 'score', 'box', 'trackId']);
        assert.ok(o.score >= 0.5 && o.score <= 1);
        const [x, y, w, h] = o.box;
        assert.ok(
          x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 1.00001 && y + h <= 1.00001,
          JSON.stringify(o.box),
        );
        assert.ok(o.trackId === null || typeof o.trackId === 'string');
      }
    }
  });

  test('a person is detected in at least 95% of the sampled frames', () => {
    const withPerson = frames.filter((f) => f.objects.some((o) => o.class === 'person')).length;
    assert.ok(withPerson / frames.length >= 0.95, `${withPerson}/${frames.length}`);
  });

  test('tracks are stable: a walking person keeps one id from frame to frame', () => {
    // Follow every person track through the footage (2 fps: a pedestrian moves up to about one
    // body width between frames).
    const tracks = new Map<string, Array<{ i: number; box: number[] }>>();
    frames.forEach((f, i) => {
      for (const o of f.objects)
        if (o.class === 'person' && o.trackId)
          tracks.set(o.trackId, [...(tracks.get(o.trackId) ?? []), { i, box: o.box }]);
    });
    const centre = (b: number[]) => [b[0]! + b[2]! / 2, b[1]! + b[3]! / 2] as const;
    // 1. No id jumps from one person to another: consecutive positions of a track are close.
    const steps: number[] = [];
    for (const seen of tracks.values()) {
      for (let k = 1; k < seen.length; k++) {
        if (seen[k]!.i !== seen[k - 1]!.i + 1) continue;
        const [ax, ay] = centre(seen[k - 1]!.box);
        const [bx, by] = centre(seen[k]!.box);
        steps.push(Math.hypot(bx - ax, by - ay) / Math.max(seen[k]!.box[2]!, seen[k - 1]!.box[2]!));
      }
    }
    steps.sort((a, b) => a - b);
    assert.ok(steps.length > 500, `${steps.length} frame-to-frame steps`);
    assert.ok(
      steps[Math.floor(steps.length * 0.95)]! <= 1.5,
      `p95 step ${steps[Math.floor(steps.length * 0.95)]} widths`,
    );
    assert.ok(steps.at(-1)! <= 3, `largest step ${steps.at(-1)} widths`);
    // 2. No fragmentation: a new id does not appear, away from the edges, where another just vanished.
    let fragments = 0;
    for (const [id, seen] of tracks) {
      const first = seen[0]!;
      if (first.i === 0) continue;
      const [cx, cy] = centre(first.box);
      if (cx < 0.05 || cx > 0.95 || cy < 0.05 || cy > 0.95) continue;
      for (const [other, os] of tracks) {
        const last = os.at(-1)!;
        if (other === id || last.i >= first.i || last.i < first.i - 4) continue;
        const [ox, oy] = centre(last.box);
        if (Math.hypot(ox - cx, oy - cy) < 1.5 * first.box[2]!) fragments++;
      }
    }
    assert.ok(
      fragments <= Math.max(1, tracks.size * 0.1),
      `${fragments} fragmented tracks of ${tracks.size}`,
    );
    // 3. People cross the scene in many seconds: tracks are long, and there are not many of them.
    const lifetimes = [...tracks.values()].map((s) => (s.at(-1)!.i - s[0]!.i + 1) / 2).sort((a, b) => a - b);
    assert.ok(
      lifetimes[Math.floor(lifetimes.length / 2)]! >= 8,
      `median track lifetime ${lifetimes[Math.floor(lifetimes.length / 2)]} s`,
    );
    const counted = summary.summary.tracks as Record<string, number>;
    assert.equal(counted.person, tracks.size);
    assert.ok(tracks.size >= 5 && tracks.size <= 40, `${tracks.size} person tracks over 80 s of footage`);
  });

  test('the summary counts objects per class and gives inference p50/p95', () => {
    const s = summary.summary as {
      objects: Record<string, number>;
      inferenceMs: { p50: number; p95: number };
    };
    const persons = frames.reduce((n, f) => n + f.objects.filter((o) => o.class === 'person').length, 0);
    assert.equal(s.objects.person, persons);
    assert.ok(s.inferenceMs.p50 > 0 && s.inferenceMs.p95 >= s.inferenceMs.p50);
  });

  test('--annotate writes a playable MP4 with one frame per analysed frame', () => {
    assert.ok(statSync(annotated).size > 10_000);
    const probe = spawnSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-count_frames',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=codec_name,width,height,nb_read_frames',
        '-of',
        'json',
        annotated,
      ],
      { encoding: 'utf8' },
    );
    const stream = (JSON.parse(probe.stdout) as { streams: Array<Record<string, unknown>> }).streams[0]!;
    assert.equal(stream.codec_name, 'h264');
    assert.equal(stream.width, 640);
    assert.equal(Number(stream.nb_read_frames), frames.length);
  });
});

describe('iceberg detect with bad input', { timeout: 60_000 }, () => {
  test('an empty file fails with a clear error, not a crash', () => {
    const empty = join(tmp, 'empty.mp4');
    writeFileSync(empty, '');
    const r = run(['detect', empty, '--json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /iceberg: ICEBERG_ERR_CAMERA_INPUT: .*(invalid|empty|no data)/i);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace for a user error');
  });

  test('a corrupt file fails with a clear error', () => {
    const corrupt = join(tmp, 'corrupt.mp4');
    writeFileSync(corrupt, Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251)));
    const r = run(['detect', corrupt]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ICEBERG_ERR_CAMERA_INPUT/);
  });

  test('a missing file says it is not found', () => {
    const r = run(['detect', join(tmp, 'nope.mp4')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not found|no such file/i);
  });

  test('wrong flags are usage errors (exit 2)', () => {
    assert.equal(run(['detect', sample, '--fps', 'fast']).code, 2);
    assert.equal(run(['detect', sample, '--classes', 'person,dragon']).code, 2);
    assert.equal(run(['detect']).code, 2);
  });
});
