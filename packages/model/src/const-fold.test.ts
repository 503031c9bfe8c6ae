import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canFold, foldNode } from './const-fold.ts';
import { makeTensor } from './tensor.ts';
import type { TfjsNodeDef } from './tfjs-graph.ts';

const node = (op: string, attr: TfjsNodeDef['attr'] = {}): TfjsNodeDef => ({ name: `n/${op}`, op, attr });
const values = (t: { data: ArrayLike<number> }) => Array.from(t.data);

test('SparseToDense scatters values over the default, and handles NanoDet’s empty index set', () => {
  const indices = makeTensor('int64', [2, 2], [0, 1, 1, 0]);
  const shape = makeTensor('int64', [2], [2, 3]);
  const [dense] = foldNode(node('SparseToDense'), [
    indices,
    shape,
    makeTensor('int64', [2], [7, 8]),
    makeTensor('int64', [], [-1]),
  ]);
  assert.deepEqual(dense!.shape, [2, 3]);
  assert.deepEqual(values(dense!), [-1, 7, -1, 8, -1, -1]);

  const [empty] = foldNode(node('SparseToDense'), [
    makeTensor('int64', [0, 1], []),
    makeTensor('int64', [1], [3]),
    makeTensor('int64', [0], []),
    makeTensor('int64', [], [0]),
  ]);
  assert.deepEqual(values(empty!), [0, 0, 0]);
});

test('binary ops broadcast like NumPy', () => {
  const a = makeTensor('float32', [2, 1], [1, 2]);
  const b = makeTensor('float32', [3], [10, 20, 30]);
  const [sum] = foldNode(node('AddV2'), [a, b]);
  assert.deepEqual(sum!.shape, [2, 3]);
  assert.deepEqual(values(sum!), [11, 21, 31, 12, 22, 32]);
  assert.deepEqual(values(foldNode(node('Sub'), [b, a])[0]!), [9, 19, 29, 8, 18, 28]);
  assert.throws(() => foldNode(node('Mul'), [b, makeTensor('float32', [2], [1, 2])]), /do not broadcast/);
});

test('Reshape, Transpose, ConcatV2, Pack and Cast', () => {
  const t = makeTensor('int32', [2, 3], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(foldNode(node('Reshape'), [t, makeTensor('int32', [2], [3, -1])])[0]!.shape, [3, 2]);
  const [tr] = foldNode(node('Transpose'), [t, makeTensor('int32', [2], [1, 0])]);
  assert.deepEqual(
    [tr!.shape, values(tr!)],
    [
      [3, 2],
      [1, 4, 2, 5, 3, 6],
    ],
  );
  const [cat] = foldNode(node('ConcatV2'), [t, t, makeTensor('int32', [], [-1])]);
  assert.deepEqual(
    [cat!.shape, values(cat!)],
    [
      [2, 6],
      [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6],
    ],
  );
  const [packed] = foldNode(node('Pack', { axis: { i: '1' } }), [
    makeTensor('int32', [2], [1, 2]),
    makeTensor('int32', [2], [3, 4]),
  ]);
  assert.deepEqual(
    [packed!.shape, values(packed!)],
    [
      [2, 2],
      [1, 3, 2, 4],
    ],
  );
  const [cast] = foldNode(node('Cast', { DstT: { type: 'DT_INT32' } }), [
    makeTensor('float32', [2], [1.7, -1.7]),
  ]);
  assert.deepEqual([cast!.dtype, values(cast!)], ['int32', [1, -1]]);
});

test('ops without an evaluator are reported with their node', () => {
  assert.equal(canFold('Floor'), false);
  assert.throws(() => foldNode(node('Floor'), []), /cannot constant-fold op Floor \(node "n\/Floor"\)/);
});
