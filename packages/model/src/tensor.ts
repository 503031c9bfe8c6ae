/** Element types the converter handles. TF.js keeps int64 and bool values in an Int32Array. */
export type DType = 'float32' | 'int32' | 'int64' | 'bool';

/** A dense constant tensor, row-major. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function makeTensor(dtype: DType, shape: number[], values: ArrayLike<number>): Tensor {
  const data = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  if (data.length !== sizeOf(shape)) {
    throw new Error(`tensor of shape [${shape}] needs ${sizeOf(shape)} values, got ${data.length}`);
  }
  return { dtype, shape, data };
}

/** The values of a (small, integer or float) tensor as plain numbers. */
export function toNumbers(t: Tensor): number[] {
  return Array.from(t.data);
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}

/** NumPy-style broadcast of two shapes; throws when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Permutes the axes of a tensor: output axis i is input axis perm[i]. */
export function transposeTensor(t: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== t.shape.length) throw new Error(`perm [${perm}] does not fit shape [${t.shape}]`);
  const outShape = perm.map((p) => t.shape[p]!);
  const inStrides = stridesOf(t.shape);
  const stepOf = perm.map((p) => inStrides[p]!);
  const out = t.dtype === 'float32' ? new Float32Array(t.data.length) : new Int32Array(t.data.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < index.length; d++) src += index[d]! * stepOf[d]!;
    out[o] = t.data[src]!;
    for (let d = index.length - 1; d >= 0; d--) {
      index[d]!++;
      if (index[d]! < outShape[d]!) break;
      index[d] = 0;
    }
  }
  return { dtype: t.dtype, shape: outShape, data: out };
}

/** Inverse of a permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}
