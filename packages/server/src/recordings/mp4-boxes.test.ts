import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bufferSource, readSegmentLayout } from './mp4-boxes.ts';

const box = (type: string, ...body: Buffer[]) => {
  const payload = Buffer.concat(body);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
};
const u32 = (...v: number[]) =>
  Buffer.concat(v.map((n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])));
const mdhd = (timescale: number) => box('mdhd', u32(0, 0, 0, timescale, 0, 0));
const hdlr = (kind: string) =>
  box('hdlr', u32(0, 0), Buffer.from(kind, 'latin1'), u32(0, 0, 0), Buffer.from([0]));
const moov = box('moov', box('trak', box('mdia', mdhd(90_000), hdlr('vide'))));
const moof = (t: number) => box('moof', box('traf', box('tfhd', u32(0, 1)), box('tfdt', u32(0, t))));
const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(512));

test('init part, complete fragments, timescale and the first decode time', async () => {
  const file = Buffer.concat([
    ftyp,
    moov,
    moof(180_000),
    box('mdat', Buffer.alloc(100)),
    moof(270_000),
    box('mdat', Buffer.alloc(50)),
  ]);
  const layout = await readSegmentLayout(bufferSource(file));
  assert.ok(layout);
  assert.equal(layout.initEnd, ftyp.length + moov.length);
  assert.equal(layout.mediaEnd, file.length);
  assert.equal(layout.timescale, 90_000);
  assert.equal(layout.firstDecodeTime, 180_000);
  assert.equal(layout.fragments, 2);
});

test('a fragment cut short by a crash is left out of the media part', async () => {
  const whole = Buffer.concat([ftyp, moov, moof(0), box('mdat', Buffer.alloc(100))]);
  const cut = Buffer.concat([whole, moof(9000), box('mdat', Buffer.alloc(100)).subarray(0, 60)]);
  const layout = await readSegmentLayout(bufferSource(cut));
  assert.equal(layout?.mediaEnd, whole.length);
  assert.equal(layout?.fragments, 1);
});

test('files that are not fragmented MP4 are refused', async () => {
  assert.equal(
    await readSegmentLayout(bufferSource(Buffer.concat([ftyp, box('mdat', Buffer.alloc(10)), moov]))),
    null,
  );
  assert.equal(
    await readSegmentLayout(bufferSource(Buffer.concat([ftyp, moof(0), box('mdat')]))),
    null,
    'no moov',
  );
  assert.equal(await readSegmentLayout(bufferSource(Buffer.concat([ftyp, moov]))), null, 'no fragment');
  assert.equal(await readSegmentLayout(bufferSource(Buffer.from('not an mp4 at all'))), null);
});
