import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameAssembler, type FramePair, FrameReader } from './frame-reader.ts';

const DETECT = 416 * 416 * 3;

/** Frame i of a stream: every byte is (i*7 + offset) mod 251, so any shift or mix-up shows. */
function frameBytes(i: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let k = 0; k < size; k++) b[k] = (i * 7 + k) % 251;
  return b;
}

function chop(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  let k = 0;
  while (off < data.length) {
    const n = sizes[k++ % sizes.length]!;
    out.push(data.subarray(off, off + n));
    off += n;
  }
  return out;
}

test('FrameAssembler cuts frames wherever the chunks break, copying only split frames', () => {
  const frames: Uint8Array[] = [];
  const a = new FrameAssembler(10, (f) => frames.push(f));
  const stream = Buffer.concat([0, 1, 2, 3, 4].map((i) => frameBytes(i, 10)));
  for (const c of chop(stream, [3, 1, 25, 7, 14])) a.push(c);
  assert.equal(frames.length, 5);
  for (const [i, f] of frames.entries()) assert.deepEqual(Buffer.from(f), frameBytes(i, 10));
  assert.equal(a.partialBytes, 0);

  const big = Buffer.concat([frameBytes(0, 10), frameBytes(1, 10)]);
  const whole: Uint8Array[] = [];
  new FrameAssembler(10, (f) => whole.push(f)).push(big);
  assert.equal(whole[0]!.buffer, big.buffer, 'a frame inside one chunk is not copied');
});

test('pairs the n-th detection frame with the n-th view frame, holding view bytes until the size is known', () => {
  const pairs: FramePair[] = [];
  const r = new FrameReader({ onPair: (p) => pairs.push(p) });
  const viewSize = 6 * 4 * 4;
  const det = Buffer.concat([0, 1, 2].map((i) => frameBytes(i, DETECT)));
  const view = Buffer.concat([0, 1, 2].map((i) => frameBytes(100 + i, viewSize)));
  const detChunks = chop(det, [65536, 1000, 123457]);
  const viewChunks = chop(view, [7, 50, 33]);
  // View bytes first, before ffmpeg has said how big a view frame is.
  r.pushView(viewChunks.shift()!);
  r.pushView(viewChunks.shift()!);
  r.pushDetect(detChunks.shift()!);
  assert.equal(pairs.length, 0);
  r.setViewSize(6, 4);
  while (detChunks.length > 0 || viewChunks.length > 0) {
    const d = detChunks.shift();
    if (d) r.pushDetect(d);
    const v = viewChunks.shift();
    if (v) r.pushView(v);
  }
  assert.equal(pairs.length, 3);
  pairs.forEach((p, i) => {
    assert.equal(p.detect.width, 416);
    assert.equal(p.detect.height, 416);
    assert.deepEqual(Buffer.from(p.detect.data), frameBytes(i, DETECT));
    assert.deepEqual({ w: p.view.width, h: p.view.height }, { w: 6, h: 4 });
    assert.deepEqual(Buffer.from(p.view.data), frameBytes(100 + i, viewSize));
  });
  assert.equal(r.count, 3);
});

test('gives up, once, when the view size never comes', () => {
  const errors: Error[] = [];
  const r = new FrameReader({
    onPair: () => assert.fail('no pair'),
    onError: (e) => errors.push(e),
    maxUnsizedViewBytes: 100,
  });
  r.pushView(Buffer.alloc(60));
  assert.equal(errors.length, 0);
  r.pushView(Buffer.alloc(60));
  r.pushView(Buffer.alloc(60));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /size/);
});
