/**
 * The MP4 box splitter: where a fragmented-MP4 recording segment's init part (ftyp + moov) ends
 * and its media part (moof/mdat fragments) begins, plus the few facts an HLS playlist needs to
 * decide whether two segments play on one timeline (the video track's timescale and the decode
 * time of the first fragment). Reads only box headers and the small moov/moof boxes, through a
 * random-access port, so that it works on a local file and on a remote one alike.
 */
import { createHash } from 'node:crypto';

/** Random access to the bytes of one file. */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `position` (fewer only at the end of the file). */
  read(position: number, length: number): Promise<Buffer>;
}

export interface Mp4Box {
  type: string;
  /** Offset of the box (its header) in the file or buffer. */
  start: number;
  /** Size including the header. */
  size: number;
  headerSize: number;
}

export interface SegmentLayout {
  /** Bytes [0, initEnd) are the init part: ftyp and moov (everything before the first moof). */
  initEnd: number;
  /** Bytes [initEnd, mediaEnd) are the media part: complete moof/mdat fragments only. */
  mediaEnd: number;
  /** sha256 of the init part: equal inits need no re-initialisation of a decoder. */
  initHash: string;
  /** Timescale of the (video) track, from moov/trak/mdia/mdhd; null when not found. */
  timescale: number | null;
  /** baseMediaDecodeTime of the first fragment (moof/traf/tfdt), in timescale units; null when absent. */
  firstDecodeTime: number | null;
  /** Fragments (moof boxes) in the media part. */
  fragments: number;
}

/** Largest moov or moof read whole (they hold sample tables of one fragment: a few KB). */
const MAX_HEADER_BOX = 4 << 20;

/** The header of the box at `offset` of `buf`, or null when it does not hold a whole header. */
function headerAt(buf: Buffer, offset: number, end: number): Mp4Box | null {
  if (offset + 8 > end) return null;
  let size = buf.readUInt32BE(offset);
  const type = buf.toString('latin1', offset + 4, offset + 8);
  let headerSize = 8;
  if (size === 1) {
    if (offset + 16 > end) return null;
    const big = buf.readBigUInt64BE(offset + 8);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    size = Number(big);
    headerSize = 16;
  } else if (size === 0) {
    size = end - offset;
  }
  if (size < headerSize) return null;
  return { type, start: offset, size, headerSize };
}

/** The complete child boxes of `buf[offset, end)`, in order; stops at the first malformed or cut one. */
export function childBoxes(buf: Buffer, offset = 0, end = buf.length): Mp4Box[] {
  const boxes: Mp4Box[] = [];
  let at = offset;
  while (at < end) {
    const box = headerAt(buf, at, end);
    if (!box || box.start + box.size > end) break;
    boxes.push(box);
    at += box.size;
  }
  return boxes;
}

function child(buf: Buffer, parent: Mp4Box, type: string): Mp4Box | undefined {
  return childBoxes(buf, parent.start + parent.headerSize, parent.start + parent.size).find(
    (b) => b.type === type,
  );
}

function path(buf: Buffer, root: Mp4Box, types: string[]): Mp4Box | undefined {
  let box: Mp4Box | undefined = root;
  for (const t of types) {
    if (!box) return undefined;
    box = child(buf, box, t);
  }
  return box;
}

/** Timescale of the video track (the first track when none says `vide`) of a moov box. */
export function moovTimescale(moov: Buffer): number | null {
  const root = childBoxes(moov)[0];
  if (root?.type !== 'moov') return null;
  const traks = childBoxes(moov, root.start + root.headerSize, root.start + root.size).filter(
    (b) => b.type === 'trak',
  );
  const handler = (trak: Mp4Box) => {
    const hdlr = path(moov, trak, ['mdia', 'hdlr']);
    // full box: version+flags (4), pre_defined (4), handler_type (4)
    return hdlr && hdlr.size >= hdlr.headerSize + 12
      ? moov.toString('latin1', hdlr.start + hdlr.headerSize + 8, hdlr.start + hdlr.headerSize + 12)
      : '';
  };
  const trak = traks.find((t) => handler(t) === 'vide') ?? traks[0];
  if (!trak) return null;
  const mdhd = path(moov, trak, ['mdia', 'mdhd']);
  if (!mdhd) return null;
  const body = mdhd.start + mdhd.headerSize;
  const version = moov.readUInt8(body);
  const at = body + (version === 1 ? 4 + 8 + 8 : 4 + 4 + 4);
  if (at + 4 > mdhd.start + mdhd.size) return null;
  const timescale = moov.readUInt32BE(at);
  return timescale > 0 ? timescale : null;
}

/** baseMediaDecodeTime of the first track fragment of a moof box. */
export function moofDecodeTime(moof: Buffer): number | null {
  const root = childBoxes(moof)[0];
  if (root?.type !== 'moof') return null;
  const tfdt = path(moof, root, ['traf', 'tfdt']);
  if (!tfdt) return null;
  const body = tfdt.start + tfdt.headerSize;
  const version = moof.readUInt8(body);
  if (version === 1) {
    if (body + 12 > tfdt.start + tfdt.size) return null;
    const t = moof.readBigUInt64BE(body + 4);
    return t <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(t) : null;
  }
  if (body + 8 > tfdt.start + tfdt.size) return null;
  return moof.readUInt32BE(body + 4);
}

/**
 * Walks the top-level boxes of a fragmented MP4 and returns its layout, or null when the file is
 * not one (no moov before the first moof, no complete fragment). A fragment cut short (a segment
 * whose writer was killed) is left out of the media part.
 */
export async function readSegmentLayout(source: ByteSource): Promise<SegmentLayout | null> {
  const size = source.size;
  let at = 0;
  let moov: Buffer | null = null;
  let initEnd = -1;
  let mediaEnd = -1;
  let firstDecodeTime: number | null = null;
  let fragments = 0;
  let pendingMoof = false;
  const init: Buffer[] = [];
  while (at + 8 <= size) {
    const head = await source.read(at, 16);
    const box = headerAt(head, 0, Math.min(head.length, size - at));
    if (!box) break;
    if (at + box.size > size) break; // cut short: not complete
    if (initEnd < 0) {
      if (box.type === 'moof') {
        if (!moov) return null;
        initEnd = at;
      } else {
        if (box.type === 'mdat') return null; // a plain MP4: media before any fragment
        if (box.size > MAX_HEADER_BOX) return null;
        const bytes = await source.read(at, box.size);
        if (bytes.length !== box.size) return null;
        init.push(bytes);
        if (box.type === 'moov') moov = bytes;
      }
    }
    if (box.type === 'moof') {
      if (firstDecodeTime === null && fragments === 0 && box.size <= MAX_HEADER_BOX)
        firstDecodeTime = moofDecodeTime(await source.read(at, box.size));
      fragments++;
      pendingMoof = true;
    } else if (box.type === 'mdat' && pendingMoof) {
      pendingMoof = false;
      mediaEnd = at + box.size;
    }
    at += box.size;
  }
  if (initEnd < 0 || mediaEnd < 0 || !moov) return null;
  const hash = createHash('sha256');
  for (const b of init) hash.update(b);
  return {
    initEnd,
    mediaEnd,
    initHash: hash.digest('hex'),
    timescale: moovTimescale(moov),
    firstDecodeTime,
    fragments: fragments - (pendingMoof ? 1 : 0),
  };
}

/** A ByteSource over a buffer (tests, small files). */
export function bufferSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    read: async (position, length) => buf.subarray(position, Math.min(buf.length, position + length)),
  };
}
