import { open } from 'node:fs/promises';

/**
 * A reader of fragmented MP4 files as the recorder writes them (ftyp, moov with an empty sample
 * table, then moof+mdat pairs, and an mfra when ffmpeg closed the file). It reads only the box
 * headers and the small moov/moof boxes, never the media data, so checking a 10-second segment
 * costs a few reads instead of a process (ffprobe).
 */
export interface Fmp4Info {
  /** ftyp and moov are present and complete. */
  hasHeader: boolean;
  /** Complete moof+mdat pairs. */
  fragments: number;
  /** Bytes up to the end of the last complete box that can be kept (a torn last fragment is cut off). */
  validBytes: number;
  /** The file's length on disk. */
  fileBytes: number;
  /** Media time scale of the (first) track. */
  timescale: number | null;
  /** Decode time of the first fragment and just after the last complete one, in seconds. */
  startSeconds: number | null;
  endSeconds: number | null;
  codec: string | null;
  width: number | null;
  height: number | null;
}

/** Enough to be kept and played: a header and at least one whole fragment. */
export function isPlayable(info: Fmp4Info): boolean {
  return info.hasHeader && info.fragments > 0 && info.endSeconds !== null && info.startSeconds !== null;
}

/** The largest moov or moof read into memory; anything bigger is not a segment of ours. */
const MAX_META_BOX = 8 * 1024 * 1024;

/** Reads a file's boxes; never throws for a damaged file (it reports what is valid), only for I/O errors. */
export async function inspectFmp4(path: string): Promise<Fmp4Info> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    };
    return await inspectWith(read, size);
  } finally {
    await fh.close();
  }
}

/** The same over any byte source (tests hand it a buffer). */
export async function inspectWith(
  read: (offset: number, length: number) => Promise<Buffer>,
  fileBytes: number,
): Promise<Fmp4Info> {
  const info: Fmp4Info = {
    hasHeader: false,
    fragments: 0,
    validBytes: 0,
    fileBytes,
    timescale: null,
    startSeconds: null,
    endSeconds: null,
    codec: null,
    width: null,
    height: null,
  };
  let sawFtyp = false;
  let defaults: TrackDefaults = { duration: 0 };
  let pendingMoof: { end: number; decodeTime: bigint; duration: bigint } | null = null;
  let offset = 0;
  while (offset + 8 <= fileBytes) {
    const head = await read(offset, 16);
    if (head.length < 8) break;
    let size = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    let headerBytes = 8;
    if (size === 1) {
      if (head.length < 16) break;
      size = Number(head.readBigUInt64BE(8));
      headerBytes = 16;
    } else if (size === 0) {
      size = fileBytes - offset; // "to the end of the file": only ever the last box
    }
    if (size < headerBytes || offset + size > fileBytes) break; // torn box: the file ends here
    const end = offset + size;
    if (type === 'ftyp') {
      sawFtyp = true;
      info.validBytes = end;
    } else if (type === 'moov') {
      if (!sawFtyp || size > MAX_META_BOX) break;
      const moov = await read(offset, size);
      const track = parseMoov(moov.subarray(headerBytes));
      info.timescale = track.timescale;
      info.codec = track.codec;
      info.width = track.width;
      info.height = track.height;
      defaults = track.defaults;
      info.hasHeader = info.timescale !== null;
      info.validBytes = end;
    } else if (type === 'moof') {
      if (!info.hasHeader || size > MAX_META_BOX) break;
      const moof = await read(offset, size);
      const frag = parseMoof(moof.subarray(headerBytes), defaults);
      if (!frag) break;
      pendingMoof = { end, ...frag };
    } else if (type === 'mdat') {
      if (pendingMoof && pendingMoof.end === offset && info.timescale) {
        const ts = info.timescale;
        if (info.startSeconds === null) info.startSeconds = Number(pendingMoof.decodeTime) / ts;
        info.endSeconds = Number(pendingMoof.decodeTime + pendingMoof.duration) / ts;
        info.fragments++;
        info.validBytes = end;
      }
      pendingMoof = null;
    } else if (type === 'mfra' || type === 'free' || type === 'skip' || type === 'sidx' || type === 'styp') {
      if (info.validBytes === offset) info.validBytes = end;
    }
    offset = end;
  }
  return info;
}

interface TrackDefaults {
  duration: number;
}

interface ParsedTrack {
  timescale: number | null;
  codec: string | null;
  width: number | null;
  height: number | null;
  defaults: TrackDefaults;
}

/** Children of a box body: [type, body] pairs. */
function* children(body: Buffer): Generator<[string, Buffer]> {
  let off = 0;
  while (off + 8 <= body.length) {
    let size = body.readUInt32BE(off);
    const type = body.toString('latin1', off + 4, off + 8);
    let header = 8;
    if (size === 1) {
      if (off + 16 > body.length) return;
      size = Number(body.readBigUInt64BE(off + 8));
      header = 16;
    } else if (size === 0) size = body.length - off;
    if (size < header || off + size > body.length) return;
    yield [type, body.subarray(off + header, off + size)];
    off += size;
  }
}

function child(body: Buffer, type: string): Buffer | null {
  for (const [t, b] of children(body)) if (t === type) return b;
  return null;
}

function path(body: Buffer | null, ...types: string[]): Buffer | null {
  let cur = body;
  for (const t of types) {
    if (!cur) return null;
    cur = child(cur, t);
  }
  return cur;
}

const codecNames: Record<string, string> = {
  avc1: 'h264',
  avc3: 'h264',
  hvc1: 'hevc',
  hev1: 'hevc',
  mp4v: 'mpeg4',
  av01: 'av1',
  vp09: 'vp9',
};

function parseMoov(moov: Buffer): ParsedTrack {
  const trak = child(moov, 'trak');
  const mdhd = path(trak, 'mdia', 'mdhd');
  let timescale: number | null = null;
  if (mdhd && mdhd.length >= 24) timescale = mdhd[0] === 1 ? mdhd.readUInt32BE(20) : mdhd.readUInt32BE(12);
  if (timescale === 0) timescale = null;
  let codec: string | null = null;
  let width: number | null = null;
  let height: number | null = null;
  const stsd = path(trak, 'mdia', 'minf', 'stbl', 'stsd');
  if (stsd && stsd.length >= 16) {
    // full box (4) + entry count (4), then the first sample entry.
    const entryType = stsd.toString('latin1', 12, 16);
    codec = codecNames[entryType] ?? entryType.trim();
    // VisualSampleEntry: 8 header + 6 reserved + 2 index + 16 pre-defined → width, height.
    if (stsd.length >= 8 + 8 + 28) {
      width = stsd.readUInt16BE(8 + 32) || null;
      height = stsd.readUInt16BE(8 + 34) || null;
    }
  }
  let duration = 0;
  const trex = path(moov, 'mvex', 'trex');
  if (trex && trex.length >= 16) duration = trex.readUInt32BE(12);
  return { timescale, codec, width, height, defaults: { duration } };
}

function parseMoof(
  moof: Buffer,
  trackDefaults: TrackDefaults,
): { decodeTime: bigint; duration: bigint } | null {
  const traf = child(moof, 'traf');
  if (!traf) return null;
  let defaultDuration = trackDefaults.duration;
  const tfhd = child(traf, 'tfhd');
  if (tfhd && tfhd.length >= 8) {
    const flags = tfhd.readUInt32BE(0) & 0xffffff;
    let o = 8;
    if (flags & 0x01) o += 8;
    if (flags & 0x02) o += 4;
    if (flags & 0x08 && tfhd.length >= o + 4) defaultDuration = tfhd.readUInt32BE(o);
  }
  const tfdt = child(traf, 'tfdt');
  if (!tfdt || tfdt.length < 8) return null;
  const decodeTime = tfdt[0] === 1 ? tfdt.readBigUInt64BE(4) : BigInt(tfdt.readUInt32BE(4));
  let duration = 0n;
  for (const [type, trun] of children(traf)) {
    if (type !== 'trun' || trun.length < 8) continue;
    const flags = trun.readUInt32BE(0) & 0xffffff;
    const count = trun.readUInt32BE(4);
    let o = 8;
    if (flags & 0x01) o += 4;
    if (flags & 0x04) o += 4;
    const perSample =
      (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
    if (!(flags & 0x100)) {
      duration += BigInt(defaultDuration) * BigInt(count);
      continue;
    }
    for (let i = 0; i < count && o + 4 <= trun.length; i++, o += perSample)
      duration += BigInt(trun.readUInt32BE(o));
  }
  return { decodeTime, duration };
}
