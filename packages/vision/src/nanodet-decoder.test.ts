import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeNanodet, type HeadOutput } from './nanodet-decoder.ts';
import { nmsPerClass } from './nms.ts';
import { Preprocessor } from './preprocess.ts';

/** Empty head outputs for strides 8, 16, 32, with helpers to plant an object. */
function heads(): HeadOutput[] {
  return [8, 16, 32].map((stride) => {
    const cells = Math.ceil(416 / stride) ** 2;
    return { stride, scores: new Float32Array(cells * 80), boxes: new Float32Array(cells * 44).fill(-10) };
  });
}
/** Puts a class score at grid cell (gx, gy) and peaked distributions: each side `bins` bins away. */
function plant(
  h: HeadOutput,
  gx: number,
  gy: number,
  classId: number,
  score: number,
  sides: [number, number, number, number],
) {
  const grid = Math.ceil(416 / h.stride);
  const i = gy * grid + gx;
  h.scores[i * 80 + classId] = score;
  sides.forEach((bin, side) => {
    h.boxes[i * 44 + side * 11 + bin] = 20; // softmax ≈ one-hot at `bin`
  });
}

describe('NanoDet decoding', () => {
  test('a planted person decodes to the box around its cell, normalised', () => {
    const h = heads();
    // stride 16, cell (10, 5): centre (168, 88); sides 2,4,2,6 bins → 32,64,32,96 px
    plant(h[1]!, 10, 5, 0, 0.9, [2, 4, 2, 6]);
    const [d, ...rest] = decodeNanodet(h, { minScore: 0.5, nmsIou: 0.5, classIds: [0, 2] });
    assert.equal(rest.length, 0);
    assert.equal(d!.class, 'person');
    assert.ok(Math.abs(d!.score - 0.9) < 1e-6);
    const expected = [(168 - 32) / 416, (88 - 64) / 416, 64 / 416, 160 / 416];
    for (const [k, v] of d!.box.entries())
      assert.ok(Math.abs(v - expected[k]!) < 1e-3, `box[${k}] ${v} vs ${expected[k]}`);
  });

  test('scores under the threshold and classes not asked for are left out', () => {
    const h = heads();
    plant(h[0]!, 3, 3, 0, 0.49, [1, 1, 1, 1]);
    plant(h[0]!, 20, 20, 16, 0.95, [1, 1, 1, 1]); // a dog
    assert.deepEqual(decodeNanodet(h, { minScore: 0.5, nmsIou: 0.5, classIds: [0, 2] }), []);
  });

  test('boxes are clipped to the frame', () => {
    const h = heads();
    plant(h[2]!, 0, 0, 2, 0.8, [10, 10, 1, 1]);
    const [d] = decodeNanodet(h, { minScore: 0.5, nmsIou: 0.5, classIds: [2] });
    assert.equal(d!.box[0], 0);
    assert.equal(d!.box[1], 0);
  });

  test('NMS keeps the best of overlapping boxes of one class, but not across classes', () => {
    const kept = nmsPerClass(
      [
        { classId: 0, score: 0.6, x1: 0, y1: 0, x2: 10, y2: 10 },
        { classId: 0, score: 0.9, x1: 1, y1: 1, x2: 11, y2: 11 },
        { classId: 2, score: 0.7, x1: 0, y1: 0, x2: 10, y2: 10 },
        { classId: 0, score: 0.5, x1: 50, y1: 50, x2: 60, y2: 60 },
      ],
      0.5,
    );
    assert.deepEqual(
      kept.map((k) => k.score),
      [0.9, 0.7, 0.5],
    );
  });
});

describe('pre-processing', () => {
  test('interleaved BGR bytes become normalised planes in B, G, R order', () => {
    const p = new Preprocessor({ mean: [100, 50, 0], std: [2, 1, 10] });
    const out = p.toPlanar({ width: 2, height: 1, data: Uint8Array.from([100, 50, 0, 104, 51, 100]) });
    assert.deepEqual([...out], [0, 2, 0, 1, 0, 10]);
  });

  test('a short buffer is refused', () => {
    assert.throws(
      () => new Preprocessor().toPlanar({ width: 416, height: 416, data: new Uint8Array(10) }),
      /expected 519168/,
    );
  });
});
