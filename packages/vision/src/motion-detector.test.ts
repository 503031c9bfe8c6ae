import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MotionDetector, type MotionResult } from './motion-detector.ts';
import type { BgrFrame, NormBox } from './types.ts';

const S = 416;

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** A street-like textured background: gradients, stripes and blotches, deterministic. */
function scene(width = S, height = S): BgrFrame {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = 90 + 50 * Math.sin(x / 23) * Math.cos(y / 31) + 0.1 * y + (((x >> 5) + (y >> 5)) % 2) * 20;
      const p = (y * width + x) * 3;
      data[p] = clamp(v * 0.9);
      data[p + 1] = clamp(v);
      data[p + 2] = clamp(v * 1.1);
    }
  }
  return { width, height, data };
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function mapPixels(f: BgrFrame, fn: (v: number, i: number) => number): BgrFrame {
  return { ...f, data: f.data.map((v, i) => clamp(fn(v, i))) };
}

/** Draws a filled rectangle (pixels) of one gray level. */
function withSquare(f: BgrFrame, x0: number, y0: number, size: number, level: number): BgrFrame {
  const data = Uint8Array.from(f.data);
  for (let y = Math.max(0, y0); y < Math.min(f.height, y0 + size); y++) {
    for (let x = Math.max(0, x0); x < Math.min(f.width, x0 + size); x++)
      data.fill(level, (y * f.width + x) * 3, (y * f.width + x) * 3 + 3);
  }
  return { ...f, data };
}

const contains = (r: NormBox, x: number, y: number) =>
  x >= r[0] && x <= r[0] + r[2] && y >= r[1] && y <= r[1] + r[3];

describe('motion detector on synthetic frames', () => {
  test('the first frame is motion; identical frames after it are not', () => {
    const md = new MotionDetector();
    const f = scene();
    const results = Array.from({ length: 5 }, () => md.update(f));
    assert.deepEqual(
      results.map((r) => [r.motion, r.reason]),
      [
        [true, 'first'],
        [false, 'still'],
        [false, 'still'],
        [false, 'still'],
        [false, 'still'],
      ],
    );
    assert.equal(results[4]!.changed, 0);
    assert.deepEqual(results[4]!.regions, []);
  });

  test('a moving square is motion, with a region around where it is', () => {
    const md = new MotionDetector();
    const bg = scene();
    md.update(bg);
    for (let k = 0; k < 8; k++) {
      const x = 40 + k * 40;
      const y = 150 + k * 10;
      const r = md.update(withSquare(bg, x, y, 40, 20));
      assert.equal(r.motion, true, `frame ${k}`);
      const cx = (x + 20) / S;
      const cy = (y + 20) / S;
      assert.ok(
        r.regions.some((b) => contains(b, cx, cy) && b[2] < 0.5 && b[3] < 0.5),
        `frame ${k}: a region of reasonable size covers the square's centre (${cx}, ${cy}): ${JSON.stringify(r.regions)}`,
      );
    }
  });

  test('sensor noise of ±3 per pixel is not motion', () => {
    const md = new MotionDetector();
    const bg = scene();
    const rand = random(42);
    const results: MotionResult[] = [];
    for (let k = 0; k < 20; k++)
      results.push(md.update(mapPixels(bg, (v) => v + Math.round((rand() - 0.5) * 6))));
    assert.deepEqual(
      results.slice(1).filter((r) => r.motion),
      [],
    );
  });

  const rows: Array<{ name: string; change: (f: BgrFrame) => BgrFrame; atMostOnce: boolean }> = [
    {
      name: 'uniform brightness step (+40, auto exposure)',
      change: (f) => mapPixels(f, (v) => v + 40),
      atMostOnce: true,
    },
    { name: 'uniform darkening (−50)', change: (f) => mapPixels(f, (v) => v - 50), atMostOnce: true },
    {
      name: 'switch to infrared (gray, contrast inverted)',
      change: (f) => mapPixels(f, (_, i) => 255 - f.data[i - (i % 3) + 1]! * 0.8),
      atMostOnce: false,
    },
  ];
  for (const row of rows) {
    test(`a global change (${row.name}) is motion ${row.atMostOnce ? 'at most once' : 'once'}, then quiet`, () => {
      const md = new MotionDetector();
      const before = scene();
      const after = row.change(before);
      md.update(before);
      md.update(before);
      const results = Array.from({ length: 10 }, () => md.update(after));
      const flagged = results.filter((r) => r.motion).length;
      if (row.atMostOnce) assert.ok(flagged <= 1, `flagged ${flagged} times`);
      else {
        assert.equal(flagged, 1);
        assert.equal(results[0]!.reason, 'scene-change');
        assert.deepEqual(results[0]!.regions, [[0, 0, 1, 1]]);
      }
      assert.ok(
        results.slice(1).every((r) => !r.motion),
        'quiet after the change',
      );
    });
  }

  test('a change smaller than minArea is not motion, a larger one is', () => {
    const bg = scene();
    const small = new MotionDetector({ minArea: 0.002 });
    small.update(bg);
    assert.equal(small.update(withSquare(bg, 200, 200, 6, 0)).motion, false, 'a 6-pixel speck');
    const large = new MotionDetector({ minArea: 0.002 });
    large.update(bg);
    assert.equal(large.update(withSquare(bg, 200, 200, 24, 0)).motion, true, 'a 24-pixel object');
  });

  test('odd frame sizes work, and a change of size starts over', () => {
    const md = new MotionDetector();
    assert.equal(md.update(scene(101, 77)).reason, 'first');
    assert.equal(md.update(scene(101, 77)).motion, false);
    assert.equal(md.update(scene(1, 1)).reason, 'first');
    assert.equal(md.update(scene(S, S)).reason, 'first');
    const r = md.update(withSquare(scene(S, S), 400, 400, 16, 0));
    assert.equal(r.motion, true, 'a change in the partial corner cell counts');
    for (const b of r.regions)
      assert.ok(b[0] + b[2] <= 1 && b[1] + b[3] <= 1, `region inside the frame: ${b}`);
  });

  test('reset() makes the next frame a first frame', () => {
    const md = new MotionDetector();
    md.update(scene());
    md.reset();
    assert.equal(md.update(scene()).reason, 'first');
  });
});

const root = process.env.ICEBERG_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));
const sample = join(root, 'assets/samples/vtest.avi');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

function readFrames(path: string, count: number): BgrFrame[] {
  const out = spawnSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      path,
      '-vf',
      `fps=2,scale=${S}:${S}`,
      '-frames:v',
      String(count),
      '-pix_fmt',
      'bgr24',
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  assert.equal(out.status, 0, out.stderr?.toString());
  const size = S * S * 3;
  return Array.from({ length: Math.floor(out.stdout.length / size) }, (_, i) => ({
    width: S,
    height: S,
    data: new Uint8Array(out.stdout.buffer, out.stdout.byteOffset + i * size, size),
  }));
}

describe('motion detector on real footage (vtest.avi, pedestrians)', {
  skip: !hasFfmpeg || !existsSync(sample),
}, () => {
  const frames = readFrames(sample, 20);

  test('people walking: most frames show motion', () => {
    assert.equal(frames.length, 20);
    const md = new MotionDetector();
    const results = frames.map((f) => md.update(f));
    const moving = results.slice(1).filter((r) => r.motion).length;
    assert.ok(moving >= 17, `${moving} of 19 frames after the first show motion`);
    assert.ok(
      results.slice(1).every((r) => r.reason !== 'scene-change'),
      'walking people are not a scene change',
    );
  });

  test('one frame repeated 10 times shows no motion after the first', () => {
    const md = new MotionDetector();
    const results = Array.from({ length: 10 }, () => md.update(frames[5]!));
    assert.deepEqual(
      results.map((r) => r.motion),
      [true, false, false, false, false, false, false, false, false, false],
    );
  });

  test('after the people walked on, the repeated frame quiets down again', () => {
    const md = new MotionDetector();
    for (const f of frames) md.update(f);
    const results = Array.from({ length: 40 }, () => md.update(frames[19]!));
    const quietFrom = results.findIndex((_, i) => results.slice(i).every((x) => !x.motion));
    assert.ok(quietFrom >= 0 && quietFrom <= 30, `quiet from repeat ${quietFrom}`);
  });
});
