import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFloat16, halfToFloat } from './fp16.ts';

test('halfToFloat decodes known binary16 values', () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14], // smallest normal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x7c00, Number.POSITIVE_INFINITY],
    [0xfc00, Number.NEGATIVE_INFINITY],
  ];
  for (const [half, expected] of cases) assert.equal(halfToFloat(half), expected, `0x${half.toString(16)}`);
  assert.ok(Object.is(halfToFloat(0x8000), -0));
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test('decodeFloat16 reads little-endian halves at an offset', () => {
  const bytes = new Uint8Array([0xff, 0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]);
  assert.deepEqual(Array.from(decodeFloat16(bytes, 1)), [1, -2, 0.5]);
  assert.throws(() => decodeFloat16(bytes, 1, 4), RangeError);
});
