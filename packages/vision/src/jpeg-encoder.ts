import sharp from 'sharp';
import type { NormBox, RgbaFrame } from './types.ts';

/**
 * Encodes an RGBA frame as a JPEG (alpha is ignored). `quality` 1..100. libvips (sharp) does the
 * work on libuv's thread pool: a 640×480 snapshot costs a few ms and never blocks the event loop
 * (jpeg-js, pure JS, took 80–130 ms of main-thread time).
 */
export async function encodeJpeg(frame: RgbaFrame, quality = 80): Promise<Buffer> {
  if (!(frame.width > 0 && frame.height > 0) || frame.data.length < frame.width * frame.height * 4) {
    throw new RangeError(
      `cannot encode a ${frame.width}×${frame.height} frame from ${frame.data.length} bytes`,
    );
  }
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const pixels = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.width * frame.height * 4);
  return sharp(pixels, { raw: { width: frame.width, height: frame.height, channels: 4 } })
    .removeAlpha()
    .jpeg({ quality: q, mozjpeg: false })
    .toBuffer();
}

/**
 * A copy of the part of the frame around `box`, widened by `pad` of the box's size on every side
 * (0.15 = 15%), clipped to the frame; at least 1×1 pixel even for a degenerate box.
 */
export function cropFrame(frame: RgbaFrame, box: NormBox, pad = 0.15): RgbaFrame {
  const fin = (v: number, d: number) => (Number.isFinite(v) ? v : d);
  const p = Math.max(0, fin(pad, 0));
  const bw = Math.max(0, fin(box[2], 0));
  const bh = Math.max(0, fin(box[3], 0));
  const bx = fin(box[0], 0);
  const by = fin(box[1], 0);
  const px = (v: number, size: number) => Math.min(size, Math.max(0, Math.round(v * size)));
  let x0 = px(bx - bw * p, frame.width);
  let y0 = px(by - bh * p, frame.height);
  let x1 = px(bx + bw * (1 + p), frame.width);
  let y1 = px(by + bh * (1 + p), frame.height);
  if (x1 <= x0) [x0, x1] = x0 >= frame.width ? [frame.width - 1, frame.width] : [x0, x0 + 1];
  if (y1 <= y0) [y0, y1] = y0 >= frame.height ? [frame.height - 1, frame.height] : [y0, y0 + 1];
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * frame.width + x0) * 4;
    data.set(frame.data.subarray(from, from + width * 4), y * width * 4);
  }
  return { width, height, data };
}
