import { resolveReshape } from './const-fold.ts';
import { float, int, ints, type OnnxAttr, str } from './onnx-ir.ts';
import {
  broadcastShapes,
  type DType,
  makeTensor,
  type Tensor,
  toNumbers,
  transposeTensor,
} from './tensor.ts';
import { attrBool, attrFloat, attrInt, attrInts, attrString } from './tfjs-attrs.ts';
import type { TfjsNodeDef } from './tfjs-graph.ts';

/** A TensorFlow tensor as the converter sees it: its ONNX name, type, static shape, value if constant. */
export interface TensorRef {
  name: string;
  dtype: DType;
  shape: number[];
  value?: Tensor;
}

/** What an op converter gets: the node, its data inputs, and ways to emit ONNX. */
export interface OpContext {
  node: TfjsNodeDef;
  inputs: TensorRef[];
  /** The ONNX name for the node's output k. */
  outputName(k: number): string;
  /** A fresh tensor name for an intermediate result. */
  temp(suffix: string): string;
  emit(op: string, inputs: string[], outputs: string[], attrs?: Record<string, OnnxAttr>): void;
  /** The ONNX name of input k; a constant input becomes an initializer. */
  use(k: number): string;
  /** Adds a new initializer and returns its name. */
  initializer(suffix: string, t: Tensor): string;
  /** The value of input k, which must be constant (a weight or a folded subgraph). */
  constant(k: number, what: string): Tensor;
}

export type OpConverter = (ctx: OpContext) => TensorRef[];

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

function fail(ctx: OpContext, message: string): Error {
  return new Error(`${ctx.node.op} node "${ctx.node.name}": ${message}`);
}

function input(ctx: OpContext, k: number): TensorRef {
  const ref = ctx.inputs[k];
  if (!ref) throw fail(ctx, `input ${k} is missing`);
  return ref;
}

function normAxis(ctx: OpContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw fail(ctx, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

const int64 = (values: number[]): Tensor => makeTensor('int64', [values.length], values);

const unary =
  (onnxOp: string, attrs?: (ctx: OpContext) => Record<string, OnnxAttr>): OpConverter =>
  (ctx) => {
    const x = input(ctx, 0);
    ctx.emit(onnxOp, [ctx.use(0)], [ctx.outputName(0)], attrs?.(ctx));
    return [{ name: ctx.outputName(0), dtype: x.dtype, shape: x.shape }];
  };

const binary =
  (onnxOp: string): OpConverter =>
  (ctx) => {
    const a = input(ctx, 0);
    const b = input(ctx, 1);
    let shape: number[];
    try {
      shape = broadcastShapes(a.shape, b.shape);
    } catch (err) {
      throw fail(ctx, (err as Error).message);
    }
    ctx.emit(onnxOp, [ctx.use(0), ctx.use(1)], [ctx.outputName(0)]);
    return [{ name: ctx.outputName(0), dtype: a.dtype, shape }];
  };

/** Spatial padding [begin…, end…] of a 2-D window op, following TensorFlow's padding attribute. */
function windowPads(
  ctx: OpContext,
  inSize: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
  format: 'NHWC' | 'NCHW',
): number[] {
  const padding = attrString(ctx.node, 'padding');
  if (padding === 'VALID') return [0, 0, 0, 0];
  if (padding === 'SAME') {
    const begin: number[] = [];
    const end: number[] = [];
    inSize.forEach((size, i) => {
      const out = Math.ceil(size / strides[i]!);
      const span = (kernel[i]! - 1) * dilations[i]! + 1;
      const total = Math.max((out - 1) * strides[i]! + span - size, 0);
      begin.push(Math.floor(total / 2));
      end.push(total - Math.floor(total / 2));
    });
    return [...begin, ...end];
  }
  if (padding === 'EXPLICIT') {
    const p = attrInts(ctx.node, 'explicit_paddings');
    const dims = format === 'NHWC' ? [1, 2] : [2, 3];
    if (p.length !== 8) throw fail(ctx, `explicit_paddings must have 8 values, has ${p.length}`);
    return [p[dims[0]! * 2]!, p[dims[1]! * 2]!, p[dims[0]! * 2 + 1]!, p[dims[1]! * 2 + 1]!];
  }
  throw fail(ctx, `unsupported padding ${padding}`);
}

function windowOutput(
  inSize: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
  pads: number[],
) {
  return inSize.map((size, i) => {
    const span = (kernel[i]! - 1) * dilations[i]! + 1;
    return Math.floor((size + pads[i]! + pads[i + 2]! - span) / strides[i]!) + 1;
  });
}

function dataFormat(ctx: OpContext): 'NHWC' | 'NCHW' {
  const f = attrString(ctx.node, 'data_format', 'NHWC');
  if (f !== 'NHWC' && f !== 'NCHW') throw fail(ctx, `unsupported data_format ${f}`);
  return f;
}

/** Emits an NCHW ONNX op on an input of the given layout; wraps it in transposes for NHWC. */
function emitNchw(
  ctx: OpContext,
  format: 'NHWC' | 'NCHW',
  op: string,
  extraInputs: string[],
  attrs: Record<string, OnnxAttr>,
  nchwOutShape: number[],
  dtype: DType,
): TensorRef[] {
  let x = ctx.use(0);
  if (format === 'NHWC') {
    const t = ctx.temp('nchw');
    ctx.emit('Transpose', [x], [t], { perm: ints(NHWC_TO_NCHW) });
    x = t;
    const y = ctx.temp('out_nchw');
    ctx.emit(op, [x, ...extraInputs], [y], attrs);
    ctx.emit('Transpose', [y], [ctx.outputName(0)], { perm: ints(NCHW_TO_NHWC) });
    return [{ name: ctx.outputName(0), dtype, shape: NCHW_TO_NHWC.map((p) => nchwOutShape[p]!) }];
  }
  ctx.emit(op, [x, ...extraInputs], [ctx.outputName(0)], attrs);
  return [{ name: ctx.outputName(0), dtype, shape: nchwOutShape }];
}

function toNchwShape(shape: number[], format: 'NHWC' | 'NCHW'): number[] {
  return format === 'NHWC' ? NHWC_TO_NCHW.map((p) => shape[p]!) : shape;
}

/** Conv2D / DepthwiseConv2dNative with a constant HWIO (or HW·C·multiplier) filter. */
const conv =
  (depthwise: boolean): OpConverter =>
  (ctx) => {
    const x = input(ctx, 0);
    if (x.shape.length !== 4) throw fail(ctx, `input must be rank 4, is [${x.shape}]`);
    const filter = ctx.constant(1, 'filter');
    if (filter.shape.length !== 4) throw fail(ctx, `filter must be rank 4, is [${filter.shape}]`);
    const format = dataFormat(ctx);
    const nchw = toNchwShape(x.shape, format);
    const [kh, kw, fi, fo] = filter.shape as [number, number, number, number];
    const channels = nchw[1]!;
    let weights: Tensor;
    let group: number;
    let outChannels: number;
    if (depthwise) {
      if (fi !== channels) throw fail(ctx, `filter has ${fi} input channels, input has ${channels}`);
      // [kh, kw, C, M] → [C, M, kh, kw] → [C·M, 1, kh, kw]; output channel c·M + m.
      weights = transposeTensor(filter, [2, 3, 0, 1]);
      weights.shape = [fi * fo, 1, kh, kw];
      group = channels;
      outChannels = fi * fo;
    } else {
      if (channels % fi !== 0) throw fail(ctx, `input channels ${channels} not a multiple of filter's ${fi}`);
      weights = transposeTensor(filter, [3, 2, 0, 1]); // HWIO → OIHW
      group = channels / fi;
      if (fo % group !== 0) throw fail(ctx, `output channels ${fo} not a multiple of groups ${group}`);
      outChannels = fo;
    }
    const sp = format === 'NHWC' ? [1, 2] : [2, 3];
    const strides4 = attrInts(ctx.node, 'strides');
    const dil4 = attrInts(ctx.node, 'dilations', [1, 1, 1, 1]);
    const strides = sp.map((i) => strides4[i] ?? 1);
    const dilations = sp.map((i) => dil4[i] ?? 1);
    const inSize = [nchw[2]!, nchw[3]!];
    const pads = windowPads(ctx, inSize, [kh, kw], strides, dilations, format);
    const outSize = windowOutput(inSize, [kh, kw], strides, dilations, pads);
    const w = ctx.initializer('weights', weights);
    const attrs = {
      kernel_shape: ints([kh, kw]),
      strides: ints(strides),
      dilations: ints(dilations),
      pads: ints(pads),
      group: int(group),
    };
    return emitNchw(ctx, format, 'Conv', [w], attrs, [nchw[0]!, outChannels, ...outSize], x.dtype);
  };

const pool =
  (onnxOp: 'MaxPool' | 'AveragePool'): OpConverter =>
  (ctx) => {
    const x = input(ctx, 0);
    if (x.shape.length !== 4) throw fail(ctx, `input must be rank 4, is [${x.shape}]`);
    const format = dataFormat(ctx);
    const nchw = toNchwShape(x.shape, format);
    const sp = format === 'NHWC' ? [1, 2] : [2, 3];
    const ksize4 = attrInts(ctx.node, 'ksize');
    const strides4 = attrInts(ctx.node, 'strides');
    if (ksize4[0] !== 1 || ksize4[format === 'NHWC' ? 3 : 1] !== 1)
      throw fail(ctx, `pooling over batch or channels`);
    const kernel = sp.map((i) => ksize4[i]!);
    const strides = sp.map((i) => strides4[i]!);
    const inSize = [nchw[2]!, nchw[3]!];
    const pads = windowPads(ctx, inSize, kernel, strides, [1, 1], format);
    const outSize = windowOutput(inSize, kernel, strides, [1, 1], pads);
    const attrs: Record<string, OnnxAttr> = {
      kernel_shape: ints(kernel),
      strides: ints(strides),
      pads: ints(pads),
    };
    // TensorFlow's average pooling never counts the padding, which is ONNX's default (count_include_pad 0).
    return emitNchw(ctx, format, onnxOp, [], attrs, [nchw[0]!, nchw[1]!, ...outSize], x.dtype);
  };

const pad: OpConverter = (ctx) => {
  const x = input(ctx, 0);
  const paddings = ctx.constant(1, 'paddings');
  const rank = x.shape.length;
  if (paddings.shape[0] !== rank || paddings.shape[1] !== 2)
    throw fail(ctx, `paddings [${paddings.shape}] for rank ${rank}`);
  const p = toNumbers(paddings);
  const begins = x.shape.map((_, i) => p[2 * i]!);
  const ends = x.shape.map((_, i) => p[2 * i + 1]!);
  if ([...begins, ...ends].some((v) => v < 0)) throw fail(ctx, 'negative paddings');
  const inputs = [ctx.use(0), ctx.initializer('pads', int64([...begins, ...ends]))];
  const attrs: Record<string, OnnxAttr> = {};
  if (ctx.node.op === 'MirrorPad') {
    const mode = attrString(ctx.node, 'mode');
    if (mode !== 'REFLECT') throw fail(ctx, `MirrorPad mode ${mode} has no ONNX equivalent`);
    attrs.mode = str('reflect');
  } else if (ctx.node.op === 'PadV2') {
    const value = ctx.constant(2, 'constant_values');
    inputs.push(ctx.initializer('value', { ...value, shape: [] }));
  }
  ctx.emit('Pad', inputs, [ctx.outputName(0)], attrs);
  return [
    { name: ctx.outputName(0), dtype: x.dtype, shape: x.shape.map((d, i) => d + begins[i]! + ends[i]!) },
  ];
};

const concat: OpConverter = (ctx) => {
  const data = ctx.inputs.slice(0, -1);
  const first = data[0];
  if (!first) throw fail(ctx, 'no inputs');
  const axis = normAxis(ctx, toNumbers(ctx.constant(ctx.inputs.length - 1, 'axis'))[0]!, first.shape.length);
  const shape = [...first.shape];
  shape[axis] = data.reduce((s, t) => s + t.shape[axis]!, 0);
  ctx.emit(
    'Concat',
    data.map((_, k) => ctx.use(k)),
    [ctx.outputName(0)],
    { axis: int(axis) },
  );
  return [{ name: ctx.outputName(0), dtype: first.dtype, shape }];
};

function emitSplit(
  ctx: OpContext,
  x: TensorRef,
  dataIndex: number,
  axis: number,
  sizes: number[],
): TensorRef[] {
  const outputs = sizes.map((_, k) => ctx.outputName(k));
  const split = ctx.initializer('split', int64(sizes));
  ctx.emit('Split', [ctx.use(dataIndex), split], outputs, { axis: int(axis) });
  return sizes.map((size, k) => {
    const shape = [...x.shape];
    shape[axis] = size;
    return { name: outputs[k]!, dtype: x.dtype, shape };
  });
}

const splitV: OpConverter = (ctx) => {
  const x = input(ctx, 0);
  const axis = normAxis(ctx, toNumbers(ctx.constant(2, 'axis'))[0]!, x.shape.length);
  const sizes = toNumbers(ctx.constant(1, 'size_splits'));
  const free = sizes.filter((s) => s === -1).length;
  const known = sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  if (free > 1) throw fail(ctx, 'more than one -1 in size_splits');
  const resolved = sizes.map((s) => (s === -1 ? x.shape[axis]! - known : s));
  if (resolved.reduce((a, b) => a + b, 0) !== x.shape[axis]) {
    throw fail(ctx, `size_splits [${sizes}] do not add up to ${x.shape[axis]}`);
  }
  return emitSplit(ctx, x, 0, axis, resolved);
};

const split: OpConverter = (ctx) => {
  const x = input(ctx, 1);
  const axis = normAxis(ctx, toNumbers(ctx.constant(0, 'axis'))[0]!, x.shape.length);
  const n = attrInt(ctx.node, 'num_split');
  if (x.shape[axis]! % n !== 0) throw fail(ctx, `dimension ${x.shape[axis]} does not split in ${n}`);
  return emitSplit(ctx, x, 1, axis, new Array<number>(n).fill(x.shape[axis]! / n));
};

const reshape: OpConverter = (ctx) => {
  const x = input(ctx, 0);
  const shape = resolveReshape(x.shape, toNumbers(ctx.constant(1, 'shape')), ctx.node);
  ctx.emit('Reshape', [ctx.use(0), ctx.initializer('shape', int64(shape))], [ctx.outputName(0)]);
  return [{ name: ctx.outputName(0), dtype: x.dtype, shape }];
};

const transpose: OpConverter = (ctx) => {
  const x = input(ctx, 0);
  const perm = toNumbers(ctx.constant(1, 'perm'));
  if (perm.length !== x.shape.length || [...perm].sort().some((p, i) => p !== i)) {
    throw fail(ctx, `perm [${perm}] does not fit shape [${x.shape}]`);
  }
  ctx.emit('Transpose', [ctx.use(0)], [ctx.outputName(0)], { perm: ints(perm) });
  return [{ name: ctx.outputName(0), dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
};

const resizeBilinear: OpConverter = (ctx) => {
  const x = input(ctx, 0);
  if (x.shape.length !== 4) throw fail(ctx, `input must be rank 4 (NHWC), is [${x.shape}]`);
  const [h, w] = toNumbers(ctx.constant(1, 'size'));
  if (h === undefined || w === undefined) throw fail(ctx, 'size must have 2 values');
  const alignCorners = attrBool(ctx.node, 'align_corners');
  const halfPixel = attrBool(ctx.node, 'half_pixel_centers');
  if (alignCorners && halfPixel) throw fail(ctx, 'align_corners and half_pixel_centers are exclusive');
  const mode = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
  const nchwOut = [x.shape[0]!, x.shape[3]!, h, w];
  const sizes = ctx.initializer('sizes', int64(nchwOut));
  const attrs = { mode: str('linear'), coordinate_transformation_mode: str(mode) };
  return emitNchw(ctx, 'NHWC', 'Resize', ['', '', sizes], attrs, nchwOut, x.dtype);
};

const biasAdd: OpConverter = (ctx) => {
  const x = input(ctx, 0);
  const bias = input(ctx, 1);
  const format = dataFormat(ctx);
  let b = ctx.use(1);
  if (format === 'NCHW' && x.shape.length > 2) {
    const shape = [bias.shape[0]!, ...new Array<number>(x.shape.length - 2).fill(1)];
    const reshaped = ctx.temp('bias');
    ctx.emit('Reshape', [b, ctx.initializer('bias_shape', int64(shape))], [reshaped]);
    b = reshaped;
  }
  ctx.emit('Add', [ctx.use(0), b], [ctx.outputName(0)]);
  return [{ name: ctx.outputName(0), dtype: x.dtype, shape: x.shape }];
};

/** TensorFlow op → ONNX (opset 13). Anything else is reported as unsupported. */
export const opConverters: Record<string, OpConverter> = {
  Identity: (ctx) => [input(ctx, 0)],
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  BiasAdd: biasAdd,
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  LeakyRelu: unary('LeakyRelu', (ctx) => ({ alpha: float(attrFloat(ctx.node, 'alpha', 0.2)) })),
  Conv2D: conv(false),
  DepthwiseConv2dNative: conv(true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  ConcatV2: concat,
  SplitV: splitV,
  Split: split,
  Reshape: reshape,
  Transpose: transpose,
  ResizeBilinear: resizeBilinear,
};
