import { type ObjectClass, vehicleClasses } from '@iceberg/contracts';
import { bitmapFont, glyphPixel, glyphRows, measureText } from './bitmap-font.ts';
import type { NormBox, RgbaFrame } from './types.ts';

/**
 * Draws detections onto an RGBA frame, in place: a rectangle per object and a filled label such as
 * `person 81% #12` at its top. Everything is clipped to the frame; nothing here throws on odd boxes.
 */

/** A colour, 0..255 per channel. */
export type Rgb = readonly [r: number, g: number, b: number];

/** Colours per kind of object: distinct from each other and readable on typical CCTV pictures. */
export const classColors: Readonly<Record<'person' | 'vehicle' | 'other', Rgb>> = Object.freeze({
  person: [255, 196, 0], // amber
  vehicle: [0, 190, 255], // sky blue
  other: [214, 64, 255], // magenta
});

const VEHICLES: ReadonlySet<ObjectClass> = new Set(vehicleClasses);

export function colorForClass(cls: ObjectClass): Rgb {
  if (cls === 'person') return classColors.person;
  return VEHICLES.has(cls) ? classColors.vehicle : classColors.other;
}

/** What to draw for one object (the shape of a published detected object). */
export interface Annotation {
  class: ObjectClass;
  score: number;
  box: NormBox;
  trackId?: string | null;
}

export interface AnnotateOptions {
  /** Line width in pixels; default grows with the frame (2 up to 599 px, 3 at 720, 4–5 at 1080). */
  thickness?: number;
  /** Integer font scale; default 1 below 600 px, 2 at 720, 3 at 1080. */
  fontScale?: number;
}

/** Line width and font scale that suit a frame of this size. */
export function annotationScale(frame: { width: number; height: number }): {
  thickness: number;
  fontScale: number;
} {
  const side = Math.min(frame.width, frame.height);
  return { thickness: Math.max(2, Math.round(side / 240)), fontScale: Math.max(1, Math.floor(side / 300)) };
}

/** `person 81% #12`: the class, the score in percent, and the number at the end of the track id. */
export function labelFor(o: Annotation): string {
  const score = Number.isFinite(o.score) ? `${Math.round(Math.min(1, Math.max(0, o.score)) * 100)}%` : '';
  const id = o.trackId ? `#${/-(\d+)$/.exec(o.trackId)?.[1] ?? o.trackId}` : '';
  return [o.class, score, id].filter((s) => s !== '').join(' ');
}

/** Draws every object onto the frame, in place. */
export function annotate(
  frame: RgbaFrame,
  objects: readonly Annotation[],
  options: AnnotateOptions = {},
): void {
  const auto = annotationScale(frame);
  const thickness = Math.max(1, Math.round(options.thickness ?? auto.thickness));
  const scale = Math.max(1, Math.floor(options.fontScale ?? auto.fontScale));
  for (const o of objects) {
    const [bx, by, bw, bh] = o.box;
    if (![bx, by, bw, bh].every(Number.isFinite)) continue;
    const color = colorForClass(o.class);
    const x0 = Math.round(bx * frame.width);
    const y0 = Math.round(by * frame.height);
    const x1 = Math.round((bx + Math.max(0, bw)) * frame.width);
    const y1 = Math.round((by + Math.max(0, bh)) * frame.height);
    strokeRect(frame, x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0), color, thickness);
    drawLabel(frame, labelFor(o), x0, y0, color, scale);
  }
}

/**
 * A filled label at the box's top-left: above the box when there is room, otherwise just inside it,
 * always moved fully into the frame when the frame is big enough.
 */
function drawLabel(
  frame: RgbaFrame,
  text: string,
  boxX: number,
  boxY: number,
  color: Rgb,
  scale: number,
): void {
  const pad = scale;
  const size = measureText(text, scale);
  const w = size.width + 2 * pad;
  const h = size.height + 2 * pad;
  const x = clamp(boxX, 0, Math.max(0, frame.width - w));
  const above = boxY - h;
  const y =
    above >= 0
      ? Math.min(above, Math.max(0, frame.height - h))
      : clamp(boxY, 0, Math.max(0, frame.height - h));
  fillRect(frame, x, y, w, h, color);
  drawText(frame, x + pad, y + pad, text, textColorOn(color), scale);
}

/** Black or white, whichever reads better on `background`. */
export function textColorOn(background: Rgb): Rgb {
  const [r, g, b] = background;
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? [0, 0, 0] : [255, 255, 255];
}

/**
 * Draws text with the built-in 5×7 font at an integer scale, top-left at (x, y) in pixels; "\n" starts a
 * new line. Returns the width drawn, in pixels. Pixels outside the frame are skipped.
 */
export function drawText(
  frame: RgbaFrame,
  x: number,
  y: number,
  text: string,
  color: Rgb,
  scale = 1,
): number {
  const s = Math.max(1, Math.floor(scale));
  const ox = Math.round(x);
  let cy = Math.round(y);
  for (const line of text.split('\n')) {
    let cx = ox;
    for (const ch of line) {
      const rows = glyphRows(ch);
      for (let gy = 0; gy < bitmapFont.glyphHeight; gy++) {
        for (let gx = 0; gx < bitmapFont.glyphWidth; gx++) {
          if (glyphPixel(rows, gx, gy)) fillRect(frame, cx + gx * s, cy + gy * s, s, s, color);
        }
      }
      cx += bitmapFont.advance * s;
    }
    cy += bitmapFont.lineHeight * s;
  }
  return measureText(text, s).width;
}

/** Fills a rectangle (pixels, top-left and size), clipped to the frame. */
export function fillRect(frame: RgbaFrame, x: number, y: number, w: number, h: number, color: Rgb): void {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(frame.width, Math.round(x + w));
  const y1 = Math.min(frame.height, Math.round(y + h));
  if (!(x1 > x0 && y1 > y0)) return;
  const [r, g, b] = color;
  const { data, width } = frame;
  for (let yy = y0; yy < y1; yy++) {
    let p = (yy * width + x0) * 4;
    for (let xx = x0; xx < x1; xx++) {
      data[p] = r;
      data[p + 1] = g;
      data[p + 2] = b;
      data[p + 3] = 255;
      p += 4;
    }
  }
}

/** Outlines a rectangle with lines `thickness` pixels wide, drawn inside its bounds, clipped to the frame. */
export function strokeRect(
  frame: RgbaFrame,
  x: number,
  y: number,
  w: number,
  h: number,
  color: Rgb,
  thickness: number,
): void {
  const t = Math.max(1, Math.min(Math.round(thickness), Math.ceil(w / 2), Math.ceil(h / 2)));
  fillRect(frame, x, y, w, t, color);
  fillRect(frame, x, y + h - t, w, t, color);
  fillRect(frame, x, y + t, t, h - 2 * t, color);
  fillRect(frame, x + w - t, y + t, t, h - 2 * t, color);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
