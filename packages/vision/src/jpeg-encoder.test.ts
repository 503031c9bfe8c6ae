import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import { cropFrame, encodeJpeg } from './jpeg-encoder.ts';
import type { RgbaFrame } from './types.ts';

function flat(width: number, height: number, rgb: [number, number, number]): RgbaFrame {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  return { width, height, data };
}

/** A frame whose pixel (x, y) encodes its own position: R = x, G = y. */
function positional(width: number, height: number): RgbaFrame {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([x, y, 7, 255], (y * width + x) * 4);
  return { width, height, data };
}

function meanRgb(f: { width: number; height: number; data: Uint8Array }): number[] {
  const sum = [0, 0, 0];
  for (let i = 0; i < f.width * f.height; i++) for (let c = 0; c < 3; c++) sum[c]! += f.data[i * 4 + c]!;
  return sum.map((s) => s / (f.width * f.height));
}

describe('encodeJpeg', () => {
  const colours: Array<[number, number, number]> = [
    [200, 40, 40],
    [20, 160, 90],
    [128, 128, 128],
    [255, 255, 255],
    [0, 0, 0],
  ];
  for (const rgb of colours) {
    test(`a flat ${rgb.join(',')} frame is a valid JPEG that decodes to the same size and colour`, async () => {
      const out = await encodeJpeg(flat(64, 48, rgb));
      assert.deepEqual([out[0], out[1]], [0xff, 0xd8], 'starts with SOI');
      assert.deepEqual([out.at(-2), out.at(-1)], [0xff, 0xd9], 'ends with EOI');
      const back = jpeg.decode(out, { useTArray: true, formatAsRGBA: true });
      assert.equal(back.width, 64);
      assert.equal(back.height, 48);
      meanRgb(back).forEach((m, c) => {
        assert.ok(Math.abs(m - rgb[c]!) <= 3, `channel ${c}: ${m} vs ${rgb[c]}`);
      });
    });
  }

  test('higher quality gives a bigger file on a detailed picture', async () => {
    const f = positional(160, 120);
    assert.ok((await encodeJpeg(f, 95)).length > (await encodeJpeg(f, 30)).length);
  });

  test('odd sizes and 1×1 frames encode; an impossible frame is refused', async () => {
    for (const [w, h] of [
      [1, 1],
      [17, 3],
      [640, 480],
    ] as const) {
      const back = jpeg.decode(await encodeJpeg(flat(w, h, [10, 200, 30]), 80), { useTArray: true });
      assert.deepEqual([back.width, back.height], [w, h]);
    }
    await assert.rejects(encodeJpeg({ width: 10, height: 10, data: new Uint8Array(10) }), RangeError);
  });
});

describe('cropFrame', () => {
  const f = positional(200, 100);
  const rows: Array<{
    name: string;
    box: [number, number, number, number];
    pad?: number;
    expect: [number, number, number, number];
  }> = [
    { name: 'no padding', box: [0.25, 0.2, 0.5, 0.5], pad: 0, expect: [50, 20, 100, 50] },
    {
      name: 'default padding of 15% of the box on each side',
      box: [0.25, 0.2, 0.5, 0.5],
      expect: [35, 13, 130, 64],
    },
    { name: 'clipped at the top-left corner', box: [-0.1, -0.1, 0.3, 0.3], pad: 0, expect: [0, 0, 40, 20] },
    {
      name: 'clipped at the bottom-right corner',
      box: [0.9, 0.9, 0.5, 0.5],
      pad: 0.15,
      expect: [165, 83, 35, 17],
    },
    { name: 'a degenerate box still gives one pixel', box: [0.5, 0.5, 0, 0], expect: [100, 50, 1, 1] },
    {
      name: 'a box outside the frame gives its corner pixel',
      box: [1.5, 1.5, 0.1, 0.1],
      expect: [199, 99, 1, 1],
    },
    { name: 'NaN counts as 0', box: [Number.NaN, 0.5, Number.NaN, 0.2], pad: 0, expect: [0, 50, 1, 20] },
  ];
  for (const r of rows) {
    test(r.name, async () => {
      const c = cropFrame(f, r.box, r.pad);
      const [x, y, w, h] = r.expect;
      assert.deepEqual([c.width, c.height], [w, h]);
      assert.equal(c.data.length, w * h * 4);
      assert.deepEqual(
        [...c.data.subarray(0, 4)],
        [x, y, 7, 255],
        'top-left pixel comes from the right place',
      );
      const last = (w * h - 1) * 4;
      assert.deepEqual(
        [...c.data.subarray(last, last + 4)],
        [x + w - 1, y + h - 1, 7, 255],
        'bottom-right pixel too',
      );
    });
  }

  test('the crop is a copy: drawing on it leaves the frame alone', async () => {
    const src = flat(10, 10, [1, 2, 3]);
    const c = cropFrame(src, [0, 0, 0.5, 0.5], 0);
    c.data.fill(99);
    assert.deepEqual(meanRgb(src), [1, 2, 3]);
  });
});
