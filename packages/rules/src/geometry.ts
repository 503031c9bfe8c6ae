import type { Box } from '@iceberg/contracts';

/**
 * Plane geometry in normalised picture coordinates: x to the right, y downwards, both 0..1 of the
 * frame's width and height (the coordinates of `detection.v1` boxes and of rule zones and lines).
 */
export type Point = readonly [x: number, y: number];

/** Below this, a cross product counts as zero: points closer than ~1e-6 of the frame to a line are on it. */
const EPSILON = 1e-12;

/** Where an object stands: the bottom-centre of its box, as NVRs judge zones and lines. */
export function referencePoint(box: Box): Point {
  const [x, y, w, h] = box;
  return [x + w / 2, y + h];
}

/** (b − a) × (p − a): positive, negative or zero (within EPSILON) as p lies on one side of a→b or on it. */
export function orientation(a: Point, b: Point, p: Point): -1 | 0 | 1 {
  const cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
  if (cross > EPSILON) return 1;
  if (cross < -EPSILON) return -1;
  return 0;
}

/**
 * The side of the directed line from→to on which p lies, as seen by someone standing at `from` on the
 * picture and looking towards `to`: 1 = right, -1 = left, 0 = on the line. Because y grows downwards,
 * this is the sign of (to − from) × (p − from). Examples: for a line drawn from left to right, the
 * left side is above it; for a line drawn upwards (bottom to top), the left side is the picture's left.
 */
export function sideOfLine(from: Point, to: Point, p: Point): -1 | 0 | 1 {
  return orientation(from, to, p);
}

/** True when p, known to be collinear with a and b, lies within the segment's bounding box. */
function withinExtent(a: Point, b: Point, p: Point): boolean {
  return (
    Math.min(a[0], b[0]) - 1e-12 <= p[0] &&
    p[0] <= Math.max(a[0], b[0]) + 1e-12 &&
    Math.min(a[1], b[1]) - 1e-12 <= p[1] &&
    p[1] <= Math.max(a[1], b[1]) + 1e-12
  );
}

/** True when p lies on the segment a–b (ends included). */
export function onSegment(a: Point, b: Point, p: Point): boolean {
  return orientation(a, b, p) === 0 && withinExtent(a, b, p);
}

/** True when segments a–b and c–d share at least one point (touching and overlapping included). */
export function segmentsIntersect(a: Point, b: Point, c: Point, d: Point): boolean {
  const o1 = orientation(a, b, c);
  const o2 = orientation(a, b, d);
  const o3 = orientation(c, d, a);
  const o4 = orientation(c, d, b);
  if (o1 * o2 < 0 && o3 * o4 < 0) return true;
  return (
    (o1 === 0 && withinExtent(a, b, c)) ||
    (o2 === 0 && withinExtent(a, b, d)) ||
    (o3 === 0 && withinExtent(c, d, a)) ||
    (o4 === 0 && withinExtent(c, d, b))
  );
}

/** The polygon's area (shoelace formula), always ≥ 0. */
export function polygonArea(points: readonly Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % points.length]!;
    twice += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(twice) / 2;
}

/** Two edges of a polygon that cross or touch, by the indices of their first points. */
export interface SelfIntersection {
  edgeA: number;
  edgeB: number;
}

/**
 * The first pair of edges of the closed polygon that meet anywhere other than at their shared
 * corner (crossing, touching, or folding back along each other); null for a simple polygon.
 * Edge i runs from point i to point i+1 (the last edge closes the polygon). Assumes no two
 * consecutive points are equal.
 */
export function findSelfIntersection(points: readonly Point[]): SelfIntersection | null {
  const n = points.length;
  for (let i = 0; i < n; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % n]!;
    for (let j = i + 1; j < n; j++) {
      const c = points[j]!;
      const d = points[(j + 1) % n]!;
      const adjacent = j === i + 1 || (i === 0 && j === n - 1);
      if (adjacent) {
        // They share one corner; they overlap only when the second edge turns straight back.
        const [shared, p, q] = j === i + 1 ? [b, a, d] : [a, b, c];
        if (orientation(p, shared, q) === 0 && dot(p, shared, q) > 0) return { edgeA: i, edgeB: j };
        continue;
      }
      if (segmentsIntersect(a, b, c, d)) return { edgeA: i, edgeB: j };
    }
  }
  return null;
}

/** (p − shared) · (q − shared): positive when p and q lie on the same side of the shared corner. */
function dot(p: Point, shared: Point, q: Point): number {
  return (p[0] - shared[0]) * (q[0] - shared[0]) + (p[1] - shared[1]) * (q[1] - shared[1]);
}

/** True when p is inside the polygon or on its boundary (even–odd rule). */
export function pointInPolygon(p: Point, polygon: readonly Point[]): boolean {
  let inside = false;
  const n = polygon.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (onSegment(a, b, p)) return true;
    if (a[1] > p[1] !== b[1] > p[1]) {
      const x = a[0] + ((p[1] - a[1]) * (b[0] - a[0])) / (b[1] - a[1]);
      if (p[0] < x) inside = !inside;
    }
  }
  return inside;
}

/**
 * The side change of a move from `start` to `end` across the segment from→to, or null when the
 * move does not cross it. Both ends of the move must lie strictly off the line, on opposite sides,
 * and the move must pass through the segment (touching one of its ends counts). The result is the
 * side the move ends on: 1 = it ended on the right (moved left-to-right), -1 = on the left.
 */
export function crossingSide(from: Point, to: Point, start: Point, end: Point): -1 | 1 | null {
  const s0 = sideOfLine(from, to, start);
  const s1 = sideOfLine(from, to, end);
  if (s0 === 0 || s1 === 0 || s0 === s1) return null;
  const o3 = orientation(start, end, from);
  const o4 = orientation(start, end, to);
  if (o3 * o4 > 0) return null;
  return s1;
}
