import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TinyGraph } from './testing/tiny-graph.ts';
import { decodeWeights, loadTfjsGraph, splitTensorName } from './tfjs-graph.ts';

test('decodeWeights widens float16 and affine uint8 weights and keeps int32 and bool', () => {
  const bytes = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0, 2, 255, 7, 0, 0, 0, 1, 0]);
  const weights = decodeWeights(
    [
      {
        paths: ['w.bin'],
        weights: [
          {
            name: 'h',
            shape: [2],
            dtype: 'float32',
            quantization: { dtype: 'float16', original_dtype: 'float32' },
          },
          { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.5 } },
          { name: 'i', shape: [1], dtype: 'int32' },
          { name: 'b', shape: [2], dtype: 'bool' },
        ],
      },
    ],
    bytes,
  );
  assert.deepEqual(Array.from(weights.get('h')!.data), [1, -2]);
  assert.deepEqual(Array.from(weights.get('q')!.data), [-1, 0, 126.5]);
  assert.deepEqual(Array.from(weights.get('i')!.data), [7]);
  assert.deepEqual([weights.get('b')!.dtype, Array.from(weights.get('b')!.data)], ['bool', [1, 0]]);
  assert.throws(
    () => decodeWeights([{ paths: [], weights: [{ name: 'x', shape: [4], dtype: 'float32' }] }], bytes),
    /weight x/,
  );
  assert.throws(
    () => decodeWeights([{ paths: [], weights: [{ name: 'x', shape: [1], dtype: 'float32' }] }], bytes),
    /manifest describes 4 bytes, data has 13/,
  );
});

test('loadTfjsGraph reads inputs, outputs and int64 constants', () => {
  const g = new TinyGraph();
  g.input('x', [1, 2]);
  g.ints('shape', [2], [2, 1], 'DT_INT64');
  g.op('Reshape', 'r', ['x', 'shape']);
  const model = g.output('r').build();
  const graph = loadTfjsGraph(model.json, model.weightData);
  assert.deepEqual(graph.inputs, ['x:0']);
  assert.deepEqual(graph.outputs, ['r:0']);
  assert.equal(graph.weights.get('shape')?.dtype, 'int64');
  assert.deepEqual(splitTensorName('a/b:2'), ['a/b', 2]);
  assert.deepEqual(splitTensorName('a/b'), ['a/b', 0]);
});
