/**
 * Just enough ISO-BMFF (MP4) parsing for the low-latency relay: split ffmpeg's fragmented MP4
 * output into top-level boxes, recognise the init segment (ftyp + moov) and media fragments
 * (moof + mdat), tell whether a fragment starts with a keyframe, and read the codec string
 * (`avc1.PPCCLL`) that Media Source Extensions needs from the avcC box. Pure functions and one
 * incremental splitter, unit-tested.
 */
export interface Box {
  type: string;
  /** The whole box, header included. */
  bytes: Buffer;
}

/** Largest top-level box accepted (a keyframe of a 4K camera fits many times over). */
export const MAX_BOX_BYTES = 32 << 20;

/** Splits a byte stream into top-level boxes as bytes arrive. */
export class BoxSplitter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** Feeds bytes; returns the boxes completed by them. Throws on a malformed or oversized box. */
  push(chunk: Buffer): Box[] {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const out: Box[] = [];
    let buf =
      this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    let offset = 0;
    for (;;) {
      const header = readBoxHeader(buf, offset);
      if (!header) break;
      if (header.size > MAX_BOX_BYTES)
        throw new Error(`MP4 box ${header.type} of ${header.size} bytes is too large`);
      if (buf.length - offset < header.size) break;
      out.push({ type: header.type, bytes: buf.subarray(offset, offset + header.size) });
      offset += header.size;
    }
    buf = buf.subarray(offset);
    this.#pending = buf.length > 0 ? [buf] : [];
    this.#pendingBytes = buf.length;
    return out;
  }
}

/** The size and type of the box at `offset`, or null when its header has not fully arrived. */
export function readBoxHeader(
  buf: Buffer,
  offset: number,
): { size: number; type: string; headerSize: number } | null {
  if (buf.length - offset < 8) return null;
  let size = buf.readUInt32BE(offset);
  const type = buf.toString('latin1', offset + 4, offset + 8);
  let headerSize = 8;
  if (size === 1) {
    if (buf.length - offset < 16) return null;
    const big = buf.readBigUInt64BE(offset + 8);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('MP4 box too large');
    size = Number(big);
    headerSize = 16;
  } else if (size === 0) {
    throw new Error(`MP4 box ${type} runs to the end of the stream: not a fragmented stream`);
  }
  if (size < headerSize) throw new Error(`malformed MP4 box ${JSON.stringify(type)} of size ${size}`);
  return { size, type, headerSize };
}

/** The children of a container box (its payload starting `skip` bytes after the header). */
export function childBoxes(box: Buffer, skip = 0): Box[] {
  const header = readBoxHeader(box, 0);
  if (!header) return [];
  const out: Box[] = [];
  let offset = header.headerSize + skip;
  while (offset < box.length) {
    const h = readBoxHeader(box, offset);
    if (!h || offset + h.size > box.length) break;
    out.push({ type: h.type, bytes: box.subarray(offset, offset + h.size) });
    offset += h.size;
  }
  return out;
}

/** The first descendant along a path of box types, e.g. `['trak', 'mdia', 'minf']`. */
export function findPath(box: Buffer, path: string[]): Buffer | null {
  let current = box;
  for (const type of path) {
    const next = childBoxes(current).find((b) => b.type === type);
    if (!next) return null;
    current = next.bytes;
  }
  return current;
}

/** Whether a sample with these ISO-BMFF sample flags is a sync sample (keyframe). */
function isSync(flags: number): boolean {
  return ((flags >>> 16) & 1) === 0 && ((flags >>> 24) & 3) !== 1;
}

/**
 * Whether a moof's first sample is a keyframe: trun's first-sample flags, else its per-sample
 * flags, else tfhd's default flags, else `trexDefault` (from the init segment's mvex/trex).
 */
export function fragmentStartsWithKeyframe(moof: Buffer, trexDefault?: number): boolean {
  const traf = childBoxes(moof).find((b) => b.type === 'traf');
  if (!traf) return false;
  let defaultFlags = trexDefault;
  const kids = childBoxes(traf.bytes);
  const tfhd = kids.find((b) => b.type === 'tfhd')?.bytes;
  if (tfhd && tfhd.length >= 16) {
    const tfFlags = tfhd.readUInt32BE(8) & 0xffffff;
    let o = 16;
    if (tfFlags & 0x1) o += 8;
    if (tfFlags & 0x2) o += 4;
    if (tfFlags & 0x8) o += 4;
    if (tfFlags & 0x10) o += 4;
    if (tfFlags & 0x20 && tfhd.length >= o + 4) defaultFlags = tfhd.readUInt32BE(o);
  }
  const trun = kids.find((b) => b.type === 'trun')?.bytes;
  if (trun && trun.length >= 16) {
    const trFlags = trun.readUInt32BE(8) & 0xffffff;
    const count = trun.readUInt32BE(12);
    let o = 16;
    if (trFlags & 0x1) o += 4;
    if (trFlags & 0x4 && trun.length >= o + 4) return isSync(trun.readUInt32BE(o));
    if (trFlags & 0x4) o += 4;
    if (count > 0 && trFlags & 0x400) {
      if (trFlags & 0x100) o += 4;
      if (trFlags & 0x200) o += 4;
      if (trun.length >= o + 4) return isSync(trun.readUInt32BE(o));
    }
  }
  return defaultFlags === undefined ? false : isSync(defaultFlags);
}

/** Facts of an init segment's moov: the codec string for MSE and trex's default sample flags. */
export function describeInit(moov: Buffer): { codec: string | null; trexDefaultFlags: number | undefined } {
  let codec: string | null = null;
  for (const trak of childBoxes(moov).filter((b) => b.type === 'trak')) {
    const stsd = findPath(trak.bytes, ['mdia', 'minf', 'stbl', 'stsd']);
    if (!stsd) continue;
    // stsd: full box (4 bytes) + entry count (4 bytes), then sample entries.
    for (const entry of childBoxes(stsd, 8)) {
      if (entry.type !== 'avc1' && entry.type !== 'avc3') continue;
      // A visual sample entry has 78 bytes of fields before its child boxes.
      const avcC = childBoxes(entry.bytes, 78).find((b) => b.type === 'avcC');
      if (avcC && avcC.bytes.length >= 12) {
        const hex = (i: number) => avcC.bytes[8 + i]!.toString(16).padStart(2, '0');
        codec = `${entry.type}.${hex(1)}${hex(2)}${hex(3)}`;
      }
    }
  }
  let trexDefaultFlags: number | undefined;
  const trex = findPath(moov, ['mvex', 'trex']);
  if (trex && trex.length >= 32) trexDefaultFlags = trex.readUInt32BE(28);
  return { codec, trexDefaultFlags };
}
