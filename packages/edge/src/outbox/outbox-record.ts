import { crc32 } from 'node:zlib';

/**
 * One message in the outbox, as written to disk. A frame is `[u32 length][u32 crc32][payload]`
 * (little-endian); the payload is JSON. A frame cut short by a power cut, or whose checksum does
 * not match, marks the end of what was durably written.
 */
export interface OutboxRecord {
  /** Order of appending over the whole outbox (all topics). */
  seq: number;
  /** When it was appended, epoch ms. */
  at: number;
  topic: string;
  key: string;
  headers: Record<string, string>;
  value: Buffer;
}

export const frameHeaderBytes = 8;
/** Larger than any message the bus takes (a dead letter carries at most 1 MiB of value). */
export const maxPayloadBytes = 16 * 1024 * 1024;

export function encodeRecord(r: OutboxRecord): Buffer {
  const text = r.value.toString('utf8');
  const utf8 = Buffer.byteLength(text) === r.value.length && Buffer.from(text, 'utf8').equals(r.value);
  const payload = Buffer.from(
    JSON.stringify({
      s: r.seq,
      a: r.at,
      t: r.topic,
      k: r.key,
      h: r.headers,
      v: utf8 ? text : r.value.toString('base64'),
      ...(utf8 ? {} : { b: 1 }),
    }),
    'utf8',
  );
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, frameHeaderBytes);
  return frame;
}

export type DecodeResult =
  | { kind: 'record'; record: OutboxRecord; bytes: number }
  /** Not enough bytes for a whole frame (yet, or ever: a torn write). */
  | { kind: 'incomplete' }
  /** A whole frame whose checksum or content is wrong. */
  | { kind: 'corrupt'; reason: string };

export function decodeRecord(buf: Buffer, offset: number): DecodeResult {
  if (buf.length - offset < frameHeaderBytes) return { kind: 'incomplete' };
  const length = buf.readUInt32LE(offset);
  if (length === 0 || length > maxPayloadBytes) return { kind: 'corrupt', reason: `frame length ${length}` };
  if (buf.length - offset - frameHeaderBytes < length) return { kind: 'incomplete' };
  const payload = buf.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + length);
  if (crc32(payload) !== buf.readUInt32LE(offset + 4))
    return { kind: 'corrupt', reason: 'checksum mismatch' };
  try {
    const p = JSON.parse(payload.toString('utf8')) as {
      s: number;
      a: number;
      t: string;
      k: string;
      h: Record<string, string>;
      v: string;
      b?: 1;
    };
    if (typeof p.s !== 'number' || typeof p.t !== 'string' || typeof p.v !== 'string')
      return { kind: 'corrupt', reason: 'missing fields' };
    return {
      kind: 'record',
      bytes: frameHeaderBytes + length,
      record: {
        seq: p.s,
        at: p.a,
        topic: p.t,
        key: p.k ?? '',
        headers: p.h ?? {},
        value: p.b ? Buffer.from(p.v, 'base64') : Buffer.from(p.v, 'utf8'),
      },
    };
  } catch (err) {
    return { kind: 'corrupt', reason: (err as Error).message };
  }
}
