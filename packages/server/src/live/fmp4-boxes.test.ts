import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoxSplitter, describeInit, fragmentStartsWithKeyframe, MAX_BOX_BYTES } from './fmp4-boxes.ts';

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}
const u32 = (...values: number[]) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, i * 4);
  });
  return b;
};
/** A full box: version 0 and 24-bit flags, then fields. */
const full = (type: string, flags: number, ...fields: Buffer[]) =>
  box(type, u32(flags & 0xffffff), ...fields);

const SYNC = 0x02000000; // depends on no other sample
const NON_SYNC = 0x01010000; // depends on others, is_non_sync_sample

function moof(trun: Buffer, tfhd = full('tfhd', 0x20000, u32(1))): Buffer {
  return box('moof', full('mfhd', 0, u32(1)), box('traf', tfhd, full('tfdt', 0, u32(0)), trun));
}

describe('BoxSplitter', () => {
  it('returns whole boxes however the bytes are cut', () => {
    const stream = Buffer.concat([
      box('ftyp', Buffer.from('isom')),
      box('moov', Buffer.alloc(20)),
      box('mdat', Buffer.alloc(3)),
    ]);
    for (const cut of [1, 3, 7, 8, 9, 17, stream.length]) {
      const splitter = new BoxSplitter();
      const types: string[] = [];
      for (let i = 0; i < stream.length; i += cut)
        for (const b of splitter.push(stream.subarray(i, i + cut))) types.push(`${b.type}:${b.bytes.length}`);
      assert.deepEqual(types, ['ftyp:12', 'moov:28', 'mdat:11'], `cut every ${cut} bytes`);
    }
  });

  it('reads 64-bit sizes and refuses malformed or huge boxes', () => {
    const large = Buffer.concat([u32(1), Buffer.from('mdat'), u32(0, 20), Buffer.alloc(4)]);
    assert.deepEqual(
      new BoxSplitter().push(large).map((b) => b.bytes.length),
      [20],
    );
    assert.throws(() => new BoxSplitter().push(Buffer.concat([u32(4), Buffer.from('moof')])), /malformed/);
    assert.throws(
      () => new BoxSplitter().push(Buffer.concat([u32(0), Buffer.from('mdat')])),
      /end of the stream/,
    );
    assert.throws(
      () => new BoxSplitter().push(Buffer.concat([u32(MAX_BOX_BYTES + 1), Buffer.from('mdat')])),
      /too large/,
    );
  });
});

describe('fragmentStartsWithKeyframe', () => {
  it('reads trun first-sample flags, per-sample flags, then tfhd and trex defaults', () => {
    // trun with data offset (0x1) and first-sample flags (0x4).
    assert.equal(fragmentStartsWithKeyframe(moof(full('trun', 0x5, u32(1, 100, SYNC)))), true);
    assert.equal(fragmentStartsWithKeyframe(moof(full('trun', 0x5, u32(1, 100, NON_SYNC)))), false);
    // Per-sample duration, size and flags (0x100|0x200|0x400) with a data offset.
    assert.equal(fragmentStartsWithKeyframe(moof(full('trun', 0x701, u32(1, 100, 512, 999, SYNC)))), true);
    assert.equal(
      fragmentStartsWithKeyframe(moof(full('trun', 0x701, u32(1, 100, 512, 999, NON_SYNC)))),
      false,
    );
    // No flags in trun: tfhd's default-sample-flags (0x20) decide, else trex's.
    const plainTrun = full('trun', 0x1, u32(1, 100));
    assert.equal(fragmentStartsWithKeyframe(moof(plainTrun, full('tfhd', 0x20, u32(1, NON_SYNC)))), false);
    assert.equal(fragmentStartsWithKeyframe(moof(plainTrun, full('tfhd', 0x20, u32(1, SYNC)))), true);
    assert.equal(fragmentStartsWithKeyframe(moof(plainTrun), SYNC), true);
    assert.equal(fragmentStartsWithKeyframe(moof(plainTrun), NON_SYNC), false);
    assert.equal(fragmentStartsWithKeyframe(box('moof')), false);
  });
});

describe('describeInit', () => {
  it('builds the MSE codec string from avcC and reads trex default flags', () => {
    const avcC = box('avcC', Buffer.from([1, 0x64, 0x00, 0x1f, 0xff]), Buffer.alloc(6));
    const avc1 = box('avc1', Buffer.alloc(78), avcC);
    const stsd = full('stsd', 0, u32(1), avc1);
    const trak = box('trak', box('mdia', box('minf', box('stbl', stsd))));
    const trex = full('trex', 0, u32(1, 1, 0, 0, NON_SYNC));
    const moov = box('moov', full('mvhd', 0, Buffer.alloc(96)), trak, box('mvex', trex));
    assert.deepEqual(describeInit(moov), { codec: 'avc1.64001f', trexDefaultFlags: NON_SYNC });
    assert.deepEqual(describeInit(box('moov')), { codec: null, trexDefaultFlags: undefined });
  });
});
