import type { NormBox } from './types.ts';

/** Area of a box (0 for negative sizes). */
export function boxArea(box: NormBox): number {
  return Math.max(box[2], 0) * Math.max(box[3], 0);
}

/** Intersection over union of two boxes, 0..1; 0 when either box is degenerate. */
export function iou(a: NormBox, b: NormBox): number {
  const x0 = Math.max(a[0], b[0]);
  const y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const iw = x1 - x0;
  const ih = y1 - y0;
  if (!(iw > 0 && ih > 0)) return 0;
  const inter = iw * ih;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** The centre of a box, [cx, cy]. */
export function boxCentre(box: NormBox): [cx: number, cy: number] {
  return [box[0] + box[2] / 2, box[1] + box[3] / 2];
}

/** Euclidean distance between the centres of two boxes, in normalised units. */
export function centreDistance(a: NormBox, b: NormBox): number {
  const [ax, ay] = boxCentre(a);
  const [bx, by] = boxCentre(b);
  return Math.hypot(ax - bx, ay - by);
}

/** A box from its centre and size. */
export function boxFromCentre(cx: number, cy: number, w: number, h: number): NormBox {
  return [cx - w / 2, cy - h / 2, w, h];
}

/**
 * The part of a box that lies inside the unit frame, so that x + w ≤ 1 and y + h ≤ 1. A box already inside is
 * returned with the same values; one entirely outside collapses to zero size on the nearest edge.
 * Non-finite values count as 0.
 */
export function clampBox(box: NormBox): NormBox {
  const [x, w] = clampSpan(box[0], box[2]);
  const [y, h] = clampSpan(box[1], box[3]);
  return [x, y, w, h];
}

/** True when every value of the box is a finite number. */
export function isFiniteBox(box: NormBox): boolean {
  return (
    Number.isFinite(box[0]) && Number.isFinite(box[1]) && Number.isFinite(box[2]) && Number.isFinite(box[3])
  );
}

function clampSpan(start: number, size: number): [number, number] {
  const a = Number.isFinite(start) ? start : 0;
  const len = Number.isFinite(size) && size > 0 ? size : 0;
  if (a >= 0 && a + len <= 1) return [a, len];
  const a0 = clampUnit(a);
  return [a0, Math.max(0, clampUnit(a + len) - a0)];
}

function clampUnit(v: number): number {
  return Math.min(1, Math.max(0, v));
}
