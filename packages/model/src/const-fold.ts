import {
  broadcastShapes,
  type DType,
  makeTensor,
  sizeOf,
  stridesOf,
  type Tensor,
  toNumbers,
  transposeTensor,
} from './tensor.ts';
import { attrInt, attrType } from './tfjs-attrs.ts';
import { dtypeFromTf, type TfjsNodeDef } from './tfjs-graph.ts';

type Folder = (node: TfjsNodeDef, inputs: Tensor[]) => Tensor[];

const binary =
  (fn: (a: number, b: number) => number): Folder =>
  (node, [a, b]) => {
    if (!a || !b) throw new Error(`${node.op} ${node.name}: needs two inputs`);
    return [broadcastBinary(a, b, fn)];
  };

/** TensorFlow ops evaluated in JS when all their inputs are constant. */
const folders: Record<string, Folder> = {
  Identity: (_n, [x]) => [x!],
  Add: binary((a, b) => a + b),
  AddV2: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Maximum: binary(Math.max),
  Minimum: binary(Math.min),
  Cast: (node, [x]) => {
    const to = dtypeFromTf(attrType(node, 'DstT'), `Cast ${node.name}`);
    const values = to === 'float32' ? toNumbers(x!) : toNumbers(x!).map((v) => Math.trunc(v));
    return [makeTensor(to, [...x!.shape], to === 'bool' ? values.map((v) => (v ? 1 : 0)) : values)];
  },
  Reshape: (node, [x, shape]) => [{ ...x!, shape: resolveReshape(x!.shape, toNumbers(shape!), node) }],
  Transpose: (_n, [x, perm]) => [transposeTensor(x!, toNumbers(perm!))],
  ConcatV2: (node, inputs) => [concatTensors(inputs.slice(0, -1), toNumbers(inputs.at(-1)!)[0]!, node)],
  Pack: (node, inputs) => {
    const shape = inputs[0]!.shape;
    const rank = shape.length + 1;
    const axis = normAxis(attrInt(node, 'axis', 0), rank);
    const expanded = inputs.map((t) => ({ ...t, shape: [...shape.slice(0, axis), 1, ...shape.slice(axis)] }));
    return [concatTensors(expanded, axis, node)];
  },
  SparseToDense: (node, [indices, outputShape, values, defaultValue]) => {
    const shape = toNumbers(outputShape!);
    const dtype = values!.dtype;
    const out = makeTensor(dtype, shape, new Array<number>(sizeOf(shape)).fill(defaultValue!.data[0] ?? 0));
    const strides = stridesOf(shape);
    const rank = indices!.shape.length < 2 ? 1 : indices!.shape[1]!;
    const count = indices!.shape.length === 0 ? 1 : indices!.shape[0]!;
    for (let i = 0; i < count; i++) {
      let flat = 0;
      for (let d = 0; d < rank; d++) {
        const at = indices!.data[i * rank + d]!;
        if (at < 0 || at >= shape[d]!)
          throw new Error(`SparseToDense ${node.name}: index ${at} out of range`);
        flat += at * strides[d]!;
      }
      out.data[flat] = values!.shape.length === 0 ? values!.data[0]! : values!.data[i]!;
    }
    return [out];
  },
};

/** Evaluates a node whose inputs are all constant; throws, naming the node, when it cannot. */
export function foldNode(node: TfjsNodeDef, inputs: Tensor[]): Tensor[] {
  const folder = folders[node.op];
  if (!folder) {
    throw new Error(`cannot constant-fold op ${node.op} (node "${node.name}"): no JS evaluator for it`);
  }
  return folder(node, inputs);
}

export function canFold(op: string): boolean {
  return op in folders;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** TensorFlow Reshape semantics: one -1 is inferred, 0 means a zero-sized dimension. */
export function resolveReshape(inShape: readonly number[], target: number[], node: TfjsNodeDef): number[] {
  const total = sizeOf(inShape);
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const free = target.filter((d) => d === -1).length;
  if (free > 1) throw new Error(`Reshape ${node.name}: more than one -1 in [${target}]`);
  const shape = target.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
  if (sizeOf(shape) !== total || shape.some((d) => !Number.isInteger(d))) {
    throw new Error(`Reshape ${node.name}: cannot reshape [${inShape}] into [${target}]`);
  }
  return shape;
}

function concatTensors(inputs: Tensor[], axisAttr: number, node: TfjsNodeDef): Tensor {
  const first = inputs[0];
  if (!first) throw new Error(`${node.op} ${node.name}: no inputs`);
  const axis = normAxis(axisAttr, first.shape.length);
  const outer = sizeOf(first.shape.slice(0, axis));
  const shape = [...first.shape];
  shape[axis] = inputs.reduce((s, t) => s + t.shape[axis]!, 0);
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const t of inputs) {
      const chunk = sizeOf(t.shape.slice(axis));
      for (let i = 0; i < chunk; i++) values.push(t.data[o * chunk + i]!);
    }
  }
  return makeTensor(first.dtype, shape, values);
}

function broadcastBinary(a: Tensor, b: Tensor, fn: (x: number, y: number) => number): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const rank = shape.length;
  const stepsFor = (t: Tensor) => {
    const s = stridesOf(t.shape);
    return shape.map((_, i) => {
      const d = i - (rank - t.shape.length);
      return d < 0 || t.shape[d] === 1 ? 0 : s[d]!;
    });
  };
  const sa = stepsFor(a);
  const sb = stepsFor(b);
  const outStrides = stridesOf(shape);
  const n = sizeOf(shape);
  const dtype: DType = a.dtype === 'float32' || b.dtype === 'float32' ? 'float32' : a.dtype;
  const values = new Array<number>(n);
  for (let o = 0; o < n; o++) {
    let ia = 0;
    let ib = 0;
    let rest = o;
    for (let d = 0; d < rank; d++) {
      const k = Math.floor(rest / outStrides[d]!);
      rest -= k * outStrides[d]!;
      ia += k * sa[d]!;
      ib += k * sb[d]!;
    }
    values[o] = fn(a.data[ia]!, b.data[ib]!);
  }
  return makeTensor(dtype, shape, dtype === 'float32' ? values : values.map((v) => v | 0));
}
