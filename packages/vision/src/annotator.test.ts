import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ObjectClass } from '@iceberg/contracts';
import {
  type Annotation,
  annotate,
  annotationScale,
  classColors,
  colorForClass,
  drawText,
  labelFor,
  type Rgb,
  textColorOn,
} from './annotator.ts';
import { glyphPixel, glyphRows, measureText } from './bitmap-font.ts';
import type { RgbaFrame } from './types.ts';

const BG: Rgb = [10, 20, 30];

function blank(width: number, height: number): RgbaFrame {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...BG, 255], i * 4);
  return { width, height, data };
}

const px = (f: RgbaFrame, x: number, y: number): number[] => [
  ...f.data.subarray((y * f.width + x) * 4, (y * f.width + x) * 4 + 3),
];
const isBg = (f: RgbaFrame, x: number, y: number) => px(f, x, y).join() === BG.join();

/** Pixels that differ from the background inside a rectangle. */
function changedIn(f: RgbaFrame, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(f.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(f.width, x1); x++) if (!isBg(f, x, y)) n++;
  }
  return n;
}

describe('bitmap font', () => {
  test('has a distinct glyph for every printable ASCII character', () => {
    const seen = new Map<string, string>();
    for (let c = 33; c <= 126; c++) {
      const key = [...glyphRows(String.fromCharCode(c))].join();
      assert.notEqual(key, '0,0,0,0,0,0,0', `glyph for ${String.fromCharCode(c)} is not empty`);
      assert.equal(seen.get(key), undefined, `${String.fromCharCode(c)} looks like ${seen.get(key)}`);
      seen.set(key, String.fromCharCode(c));
    }
    assert.deepEqual([...glyphRows(' ')], [0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...glyphRows('é')], [...glyphRows('?')], 'unknown characters are drawn as ?');
  });

  test('measures text by its 6×9 cell, scaled', () => {
    assert.deepEqual(measureText('ab', 1), { width: 11, height: 7 });
    assert.deepEqual(measureText('ab', 3), { width: 33, height: 21 });
    assert.deepEqual(measureText('a\nbcd', 1), { width: 17, height: 16 });
    assert.deepEqual(measureText('', 2), { width: 0, height: 14 });
  });
});

describe('annotator', () => {
  const W = 200;
  const H = 100;

  test('the box border has the class colour, inside and outside of it stay untouched', () => {
    const cases: Array<{ cls: ObjectClass; color: Rgb }> = [
      { cls: 'person', color: classColors.person },
      { cls: 'truck', color: classColors.vehicle },
      { cls: 'dog', color: classColors.other },
    ];
    for (const c of cases) {
      const f = blank(W, H);
      // Box from (40, 40) to (120, 80) in pixels; the label goes above it (room from y = 0 to 40).
      annotate(f, [{ class: c.cls, score: 0.81, box: [0.2, 0.4, 0.4, 0.4], trackId: 'cam-12' }], {
        thickness: 2,
      });
      for (const [x, y] of [
        [40, 40],
        [41, 41],
        [119, 79],
        [80, 40],
        [80, 79],
        [40, 60],
        [119, 60],
      ] as const) {
        assert.deepEqual(px(f, x, y), [...c.color], `${c.cls}: border pixel (${x}, ${y})`);
      }
      assert.equal(changedIn(f, 42, 42, 118, 78), 0, `${c.cls}: inside the box untouched`);
      assert.equal(changedIn(f, 0, 80, W, H), 0, `${c.cls}: below the box untouched`);
      assert.equal(changedIn(f, 120, 40, W, H), 0, `${c.cls}: right of the box untouched`);
      assert.equal(changedIn(f, 130, 0, W, 40), 0, `${c.cls}: right of the label untouched`);
      assert.equal(changedIn(f, 0, 0, 40, H), 0, `${c.cls}: left of the box untouched`);
    }
    assert.notDeepEqual(classColors.person, classColors.vehicle);
    assert.notDeepEqual(classColors.vehicle, classColors.other);
    assert.deepEqual(colorForClass('bus'), classColors.vehicle);
  });

  test('the label is filled with the class colour and its text is drawn in a readable colour', () => {
    const f = blank(W, H);
    annotate(f, [{ class: 'person', score: 0.81, box: [0.2, 0.4, 0.4, 0.4], trackId: 'cam-12' }], {
      thickness: 2,
      fontScale: 1,
    });
    const text = 'person 81% #12';
    const size = measureText(text, 1);
    // Label: pad 1 around the text, just above the box top (y = 40).
    const top = 40 - (size.height + 2);
    const colours = new Map<string, number>();
    for (let y = top; y < 40; y++) {
      for (let x = 40; x < 40 + size.width + 2; x++) {
        const k = px(f, x, y).join();
        colours.set(k, (colours.get(k) ?? 0) + 1);
      }
    }
    const ink = textColorOn(classColors.person).join();
    assert.deepEqual(new Set(colours.keys()), new Set([classColors.person.join(), ink]), 'only fill and ink');
    assert.ok((colours.get(ink) ?? 0) > 60, `text pixels drawn: ${colours.get(ink)}`);
    assert.ok(isBg(f, 40, top - 1), 'nothing above the label');
    // The first letter, p, is where the font says.
    const p = glyphRows('p');
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        assert.equal(
          px(f, 41 + gx, top + 1 + gy).join() === ink,
          glyphPixel(p, gx, gy),
          `p at (${gx}, ${gy})`,
        );
      }
    }
  });

  test('labels read class, score and track number', () => {
    const rows: Array<[Annotation, string]> = [
      [{ class: 'person', score: 0.814, box: [0, 0, 1, 1], trackId: 'cam-1-12' }, 'person 81% #12'],
      [{ class: 'car', score: 0.5, box: [0, 0, 1, 1], trackId: null }, 'car 50%'],
      [{ class: 'truck', score: 1, box: [0, 0, 1, 1] }, 'truck 100%'],
      [{ class: 'dog', score: 0.3, box: [0, 0, 1, 1], trackId: 'x' }, 'dog 30% #x'],
    ];
    for (const [a, expected] of rows) assert.equal(labelFor(a), expected);
  });

  test('a box touching the top edge keeps its label inside the frame, inside the box', () => {
    const f = blank(W, H);
    annotate(f, [{ class: 'car', score: 0.9, box: [0.5, 0, 0.3, 0.5], trackId: 'cam-3' }], {
      thickness: 2,
      fontScale: 1,
    });
    assert.deepEqual(px(f, 101, 0), [...classColors.vehicle], 'label fill at the top row');
    assert.ok(changedIn(f, 102, 2, 159, 8) > 20, 'text inside the label');
  });

  test('a box at the right edge moves its label left so it stays readable', () => {
    const f = blank(W, H);
    annotate(f, [{ class: 'car', score: 0.9, box: [0.95, 0.5, 0.05, 0.3], trackId: 'cam-3' }], {
      fontScale: 1,
    });
    const width = measureText('car 90% #3', 1).width + 2;
    assert.deepEqual(px(f, W - width, 45), [...classColors.vehicle], 'label starts inside the frame');
  });

  test('odd boxes and tiny frames never throw', () => {
    const boxes: Array<[number, number, number, number]> = [
      [-0.5, -0.5, 0.7, 0.7],
      [0.9, 0.9, 0.5, 0.5],
      [1.2, 1.2, 0.1, 0.1],
      [-2, 0.2, 0.5, 0.1],
      [0.5, 0.5, 0, 0],
      [0.5, 0.5, -0.1, -0.1],
      [Number.NaN, 0.1, 0.2, 0.2],
      [0.1, Number.POSITIVE_INFINITY, 0.2, 0.2],
      [0, 0, 1, 1],
    ];
    for (const [w, h] of [
      [1, 1],
      [2, 3],
      [7, 5],
      [W, H],
    ] as const) {
      const f = blank(w, h);
      const before = f.data.length;
      annotate(
        f,
        boxes.map((box) => ({ class: 'person' as const, score: 0.7, box, trackId: 'cam-5' })),
        {},
      );
      drawText(f, -3, -3, 'x', [255, 255, 255], 2);
      drawText(f, w - 1, h - 1, 'hello\nworld', [255, 255, 255], 3);
      assert.equal(f.data.length, before, `${w}×${h}: no write outside the frame`);
    }
    const one = blank(1, 1);
    annotate(one, [{ class: 'person', score: 0.7, box: [0, 0, 1, 1] }]);
    assert.deepEqual(px(one, 0, 0), [...classColors.person], 'a 1×1 frame gets the colour');
  });

  test('drawText writes only where the font has ink, at the given scale', () => {
    const f = blank(40, 20);
    const width = drawText(f, 2, 3, 'I1', [255, 255, 255], 2);
    assert.equal(width, measureText('I1', 2).width);
    const ink = changedIn(f, 0, 0, 40, 20);
    const expected = ['I', '1'].reduce(
      (n, ch) => n + [...glyphRows(ch)].reduce((m, r) => m + r.toString(2).split('1').length - 1, 0),
      0,
    );
    assert.equal(ink, expected * 4, 'each font pixel is a 2×2 block');
    assert.equal(
      changedIn(f, 0, 0, 2, 20) + changedIn(f, 0, 0, 40, 3),
      0,
      'nothing left of or above the origin',
    );
  });

  test('line width and font grow with the frame', () => {
    assert.deepEqual(annotationScale({ width: 416, height: 416 }), { thickness: 2, fontScale: 1 });
    assert.deepEqual(annotationScale({ width: 1280, height: 720 }), { thickness: 3, fontScale: 2 });
    assert.deepEqual(annotationScale({ width: 1920, height: 1080 }), { thickness: 5, fontScale: 3 });
  });
});
