/** IEEE 754 half precision (binary16) → number. */
export function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Decodes `count` little-endian halves starting at `byteOffset` of `bytes` into float32. */
export function decodeFloat16(
  bytes: Uint8Array,
  byteOffset = 0,
  count = (bytes.length - byteOffset) / 2,
): Float32Array {
  if (!Number.isInteger(count) || byteOffset + count * 2 > bytes.length) {
    throw new RangeError(
      `decodeFloat16: ${count} halves at offset ${byteOffset} exceed ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + byteOffset, count * 2);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  return out;
}
