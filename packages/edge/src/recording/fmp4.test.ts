import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectWith, isPlayable } from './fmp4.ts';

function box(type: string, ...body: Buffer[]): Buffer {
  const content = Buffer.concat(body);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + content.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, content]);
}
const u32 = (...n: number[]) =>
  Buffer.concat(
    n.map((v) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v);
      return b;
    }),
  );

/** A small fragmented MP4: timescale 1000, fragments of 10 samples × 100 ticks (1 s each). */
function file(fragments: number): Buffer {
  const mdhd = box('mdhd', u32(0, 0, 0, 1000, 0, 0));
  const entry = Buffer.alloc(8 + 70);
  entry.writeUInt32BE(78, 0);
  entry.write('avc1', 4, 'latin1');
  entry.writeUInt16BE(768, 8 + 24);
  entry.writeUInt16BE(576, 8 + 26);
  const stsd = box('stsd', u32(0, 1), entry);
  const moov = box(
    'moov',
    box('trak', box('mdia', mdhd, box('minf', box('stbl', stsd)))),
    box('mvex', box('trex', u32(0, 1, 1, 100, 0, 0))),
  );
  const parts = [box('ftyp', Buffer.from('isom'), u32(0x200)), moov];
  for (let i = 0; i < fragments; i++) {
    const traf = box(
      'traf',
      box('tfhd', u32(0x020000, 1)),
      box('tfdt', u32(0, 5000 + i * 1000)),
      box('trun', u32(0, 10)),
    );
    parts.push(box('moof', traf), box('mdat', Buffer.alloc(500)));
  }
  return Buffer.concat(parts);
}

const inspect = (buf: Buffer) =>
  inspectWith(async (offset, length) => buf.subarray(offset, offset + length), buf.length);

test('a whole file: times from the fragments, codec and size from the header', async () => {
  const info = await inspect(file(3));
  assert.equal(isPlayable(info), true);
  assert.deepEqual(
    [
      info.fragments,
      info.startSeconds,
      info.endSeconds,
      info.codec,
      info.width,
      info.height,
      info.validBytes,
    ],
    [3, 5, 8, 'h264', 768, 576, info.fileBytes],
  );
});

test('a file cut in its last fragment (kill -9) is valid up to the last whole fragment', async () => {
  const whole = file(3);
  const two = file(2).length;
  const info = await inspect(whole.subarray(0, whole.length - 100));
  assert.deepEqual([info.fragments, info.endSeconds, info.validBytes], [2, 7, two]);
});

test('a header alone, or garbage, is not playable', async () => {
  assert.equal(isPlayable(await inspect(file(0))), false);
  assert.equal(isPlayable(await inspect(Buffer.from('not a video at all, just text'))), false);
  assert.equal(isPlayable(await inspect(Buffer.alloc(0))), false);
});
