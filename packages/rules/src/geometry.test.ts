import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  crossingSide,
  findSelfIntersection,
  type Point,
  pointInPolygon,
  polygonArea,
  referencePoint,
  segmentsIntersect,
  sideOfLine,
} from './geometry.ts';

const square: Point[] = [
  [0.2, 0.2],
  [0.6, 0.2],
  [0.6, 0.6],
  [0.2, 0.6],
];
// A U shape: the notch 0.4..0.6 × 0.2..0.7 is outside.
const u: Point[] = [
  [0.2, 0.2],
  [0.4, 0.2],
  [0.4, 0.7],
  [0.6, 0.7],
  [0.6, 0.2],
  [0.8, 0.2],
  [0.8, 0.9],
  [0.2, 0.9],
];

describe('referencePoint', () => {
  test('is the bottom-centre of the box', () => {
    assert.deepEqual(referencePoint([0.1, 0.2, 0.2, 0.5]), [0.2, 0.7]);
  });
});

describe('pointInPolygon', () => {
  const cases: Array<[string, Point, readonly Point[], boolean]> = [
    ['the middle of a square', [0.4, 0.4], square, true],
    ['left of a square', [0.1, 0.4], square, false],
    ['below a square', [0.4, 0.61], square, false],
    ['on an edge (inside)', [0.6, 0.4], square, true],
    ['on a corner (inside)', [0.2, 0.2], square, true],
    ['in the notch of a U', [0.5, 0.5], u, false],
    ['in an arm of a U', [0.3, 0.5], u, true],
    ['under the notch of a U', [0.5, 0.8], u, true],
    ['level with a corner, outside', [0.1, 0.2], u, false],
  ];
  for (const [name, p, polygon, expected] of cases) {
    test(name, () => assert.equal(pointInPolygon(p, polygon), expected));
  }
});

describe('sideOfLine (standing at from, looking towards to, on the picture)', () => {
  const cases: Array<[string, Point, Point, Point, -1 | 0 | 1]> = [
    ['a line drawn upwards: the picture’s left is its left', [0.5, 0.9], [0.5, 0.1], [0.2, 0.5], -1],
    ['a line drawn upwards: the picture’s right is its right', [0.5, 0.9], [0.5, 0.1], [0.8, 0.5], 1],
    ['a line drawn left to right: above is its left', [0.1, 0.5], [0.9, 0.5], [0.5, 0.2], -1],
    ['a line drawn left to right: below is its right', [0.1, 0.5], [0.9, 0.5], [0.5, 0.8], 1],
    ['a line drawn downwards: the picture’s left is its right', [0.5, 0.1], [0.5, 0.9], [0.2, 0.5], 1],
    ['on the line, beyond its end', [0.1, 0.5], [0.9, 0.5], [0.95, 0.5], 0],
  ];
  for (const [name, from, to, p, expected] of cases) {
    test(name, () => assert.equal(sideOfLine(from, to, p), expected));
  }
});

describe('crossingSide', () => {
  const from: Point = [0.5, 0.9];
  const to: Point = [0.5, 0.1];
  const cases: Array<[string, Point, Point, -1 | 1 | null]> = [
    ['left to right through the middle', [0.4, 0.5], [0.6, 0.5], 1],
    ['right to left through the middle', [0.6, 0.5], [0.4, 0.5], -1],
    ['diagonally through an end', [0.4, 0.0], [0.6, 0.2], 1],
    ['past the end of the segment', [0.4, 0.95], [0.6, 0.95], null],
    ['staying on one side', [0.4, 0.5], [0.45, 0.2], null],
    ['ending on the line', [0.4, 0.5], [0.5, 0.5], null],
  ];
  for (const [name, start, end, expected] of cases) {
    test(name, () => assert.equal(crossingSide(from, to, start, end), expected));
  }
});

describe('segmentsIntersect', () => {
  const cases: Array<[string, [Point, Point, Point, Point], boolean]> = [
    [
      'an X',
      [
        [0, 0],
        [1, 1],
        [0, 1],
        [1, 0],
      ],
      true,
    ],
    [
      'parallel',
      [
        [0, 0],
        [1, 0],
        [0, 0.1],
        [1, 0.1],
      ],
      false,
    ],
    [
      'a T (touching)',
      [
        [0, 0],
        [1, 0],
        [0.5, 0],
        [0.5, 1],
      ],
      true,
    ],
    [
      'collinear, overlapping',
      [
        [0, 0],
        [0.6, 0],
        [0.4, 0],
        [1, 0],
      ],
      true,
    ],
    [
      'collinear, apart',
      [
        [0, 0],
        [0.3, 0],
        [0.4, 0],
        [1, 0],
      ],
      false,
    ],
    [
      'would cross if longer',
      [
        [0, 0],
        [0.4, 0.4],
        [0, 1],
        [1, 0],
      ],
      false,
    ],
  ];
  for (const [name, [a, b, c, d], expected] of cases) {
    test(name, () => assert.equal(segmentsIntersect(a, b, c, d), expected));
  }
});

describe('polygons', () => {
  test('polygonArea of a 0.4 × 0.4 square, either winding', () => {
    assert.ok(Math.abs(polygonArea(square) - 0.16) < 1e-12);
    assert.ok(Math.abs(polygonArea([...square].reverse()) - 0.16) < 1e-12);
  });
  const cases: Array<[string, Point[], { edgeA: number; edgeB: number } | null]> = [
    ['a square is simple', square, null],
    ['a U is simple', u, null],
    [
      'a bow-tie crosses',
      [
        [0.1, 0.1],
        [0.9, 0.9],
        [0.9, 0.1],
        [0.1, 0.9],
      ],
      { edgeA: 0, edgeB: 2 },
    ],
    [
      'a spike folding back on itself',
      [
        [0.1, 0.1],
        [0.9, 0.1],
        [0.5, 0.1],
        [0.5, 0.9],
      ],
      { edgeA: 0, edgeB: 1 },
    ],
  ];
  for (const [name, polygon, expected] of cases) {
    test(`findSelfIntersection: ${name}`, () => assert.deepEqual(findSelfIntersection(polygon), expected));
  }
});
