import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOnnxModel } from './onnx-encode.ts';
import { type Feed, maxAbsDiff, runOnnx, runTfjs } from './testing/reference-runners.ts';
import { attr, randomFloats, TinyGraph, type TinyModel } from './testing/tiny-graph.ts';
import { loadTfjsGraph } from './tfjs-graph.ts';
import { convertTfjsGraph, ONNX_OPSET, tfjsGraphToOnnx } from './tfjs-to-onnx.ts';

const TOLERANCE = 1e-5;
const nhwc = { data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]) };

function feed(shape: number[], seed: number): Feed {
  return {
    data: randomFloats(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  };
}

/**
 * Converts `model`, runs the ONNX file on ORT (with and without the transpose/bias optimisation) and
 * the TF.js graph `reference` (default: the same model) on tfjs-core; every output must agree.
 */
async function assertMatchesTfjs(
  model: TinyModel,
  inputs: Record<string, Feed>,
  reference = model,
): Promise<void> {
  const graph = loadTfjsGraph(model.json, model.weightData);
  const expected = await runTfjs(reference.json, reference.weightData, inputs, graph.outputs);
  for (const optimize of [false, true]) {
    const onnxGraph = convertTfjsGraph(graph, { optimize });
    const actual = await runOnnx(tfjsGraphToOnnx(graph, { optimize }), inputs);
    graph.outputs.forEach((tfName, k) => {
      const onnxName = onnxGraph.outputs[k]!.name;
      const want = expected[tfName]!;
      const got = actual[onnxName];
      assert.ok(got, `ONNX output ${onnxName} for ${tfName}`);
      assert.deepEqual([...got.dims], [...want.dims], `shape of ${tfName}`);
      assert.deepEqual(onnxGraph.outputs[k]!.shape, [...want.dims], `declared shape of ${tfName}`);
      const diff = maxAbsDiff(got.data, want.data);
      assert.ok(diff < TOLERANCE, `${tfName} (optimize ${optimize}): max abs diff ${diff}`);
    });
  }
}

test('Conv2D (SAME, stride 2, fp16 weights) + bias + LeakyRelu, and EXPLICIT/dilated conv', async () => {
  const g = new TinyGraph();
  const x = g.input('x', [1, 9, 9, 3]);
  const w = g.floats('w', [3, 3, 3, 4], randomFloats(108, 1), true);
  const b = g.floats('b', [4], [0.5, -0.25, 0.125, 1]);
  const conv = g.op('Conv2D', 'conv', [x, w], {
    ...nhwc,
    strides: attr.ints([1, 2, 2, 1]),
    padding: attr.s('SAME'),
  });
  const biased = g.op('Add', 'biased', [conv, b]);
  const act = g.op('LeakyRelu', 'act', [biased], { alpha: attr.f(0.1) });
  const w2 = g.floats('w2', [2, 3, 4, 5], randomFloats(120, 2));
  g.op('Conv2D', 'conv2', [act, w2], {
    data_format: attr.s('NHWC'),
    strides: attr.ints([1, 1, 1, 1]),
    dilations: attr.ints([1, 2, 1, 1]),
    padding: attr.s('EXPLICIT'),
    explicit_paddings: attr.ints([0, 0, 1, 2, 2, 1, 0, 0]),
  });
  const w3 = g.floats('w3', [3, 3, 3, 2], randomFloats(54, 3));
  g.op('Conv2D', 'conv3', [x, w3], { ...nhwc, strides: attr.ints([1, 2, 3, 1]), padding: attr.s('VALID') });
  await assertMatchesTfjs(g.output('act').output('conv2').output('conv3').build(), {
    x: feed([1, 9, 9, 3], 7),
  });
});

test('grouped Conv2D (filter in-channels < input channels) equals per-group convs; depthwise conv', async () => {
  const filter = randomFloats(3 * 3 * 2 * 6, 4);
  const grouped = new TinyGraph();
  const gx = grouped.input('x', [1, 6, 6, 4]);
  const gw = grouped.floats('w', [3, 3, 2, 6], filter);
  grouped.op('Conv2D', 'out', [gx, gw], {
    ...nhwc,
    strides: attr.ints([1, 1, 1, 1]),
    padding: attr.s('SAME'),
  });
  const dw = grouped.floats('dw', [3, 3, 4, 2], randomFloats(72, 5));
  grouped.op('DepthwiseConv2dNative', 'depthwise', [gx, dw], {
    ...nhwc,
    strides: attr.ints([1, 2, 2, 1]),
    padding: attr.s('SAME'),
  });

  // Reference: split the channels, one convolution per group, concatenate.
  const ref = new TinyGraph();
  const rx = ref.input('x', [1, 6, 6, 4]);
  const halves = [0, 1].map((group) => {
    const values: number[] = [];
    for (let i = 0; i < filter.length; i++) if (Math.floor((i % 6) / 3) === group) values.push(filter[i]!);
    return ref.floats(`w${group}`, [3, 3, 2, 3], values);
  });
  ref.ints('sizes', [2], [2, 2]);
  ref.ints('axis', [], [3]);
  ref.op('SplitV', 'split', [rx, 'sizes', 'axis'], { num_split: attr.i(2) });
  const convs = ['split:0', 'split:1'].map((part, k) =>
    ref.op('Conv2D', `conv${k}`, [part, halves[k]!], {
      ...nhwc,
      strides: attr.ints([1, 1, 1, 1]),
      padding: attr.s('SAME'),
    }),
  );
  ref.op('ConcatV2', 'out', [...convs, 'axis'], { N: attr.i(2) });
  ref.floats('dw', [3, 3, 4, 2], randomFloats(72, 5));
  ref.op('DepthwiseConv2dNative', 'depthwise', ['x', 'dw'], {
    ...nhwc,
    strides: attr.ints([1, 2, 2, 1]),
    padding: attr.s('SAME'),
  });
  const model = grouped.output('out').output('depthwise').build();
  const onnx = convertTfjsGraph(loadTfjsGraph(model.json, model.weightData));
  const conv = onnx.nodes.find((n) => n.op === 'Conv' && n.inputs[1]?.startsWith('out/'));
  assert.deepEqual(conv?.attrs.group, { kind: 'int', value: 2 });
  await assertMatchesTfjs(model, { x: feed([1, 6, 6, 4], 8) }, ref.output('out').output('depthwise').build());
});

test('Pad, PadV2, MaxPool, AvgPool, Transpose, ConcatV2, SplitV, Sigmoid and a folded Reshape shape', async () => {
  const g = new TinyGraph();
  const x = g.input('x', [1, 3, 8, 8]); // NCHW, as NanoDet's input
  g.ints('to_nhwc', [4], [0, 2, 3, 1]);
  g.ints('to_nchw', [4], [0, 3, 1, 2]);
  const t = g.op('Transpose', 't', [x, 'to_nhwc']);
  g.ints('pv2', [4, 2], [0, 0, 1, 1, 0, 1, 0, 0]);
  g.floats('pv2_value', [], [-1.5]);
  const padded = g.op('PadV2', 'padv2', [t, 'pv2', 'pv2_value']);
  const window = {
    data_format: attr.s('NHWC'),
    ksize: attr.ints([1, 3, 3, 1]),
    strides: attr.ints([1, 2, 2, 1]),
  };
  const max = g.op('MaxPool', 'max', [padded], { ...window, padding: attr.s('VALID') });
  const avg = g.op('AvgPool', 'avg', [t], { ...window, padding: attr.s('SAME') });
  const maxSame = g.op('MaxPool', 'max_same', [t], { ...window, padding: attr.s('SAME') });
  g.ints('p', [4, 2], [0, 0, 0, 0, 1, 1, 0, 0]);
  const avgPadded = g.op('Pad', 'pad', [avg, 'p']);
  g.ints('crop', [4], [0, 0, 0, 0]); // unused by the outputs: dead code
  const nchw = [max, avgPadded, maxSame].map((n) => g.op('Transpose', `${n}_nchw`, [n, 'to_nchw']));
  g.ints('minus3', [], [-3]);
  // NCHW max [1,3,4,4] and pad(avg) [1,3,4,6] concatenate along the width.
  g.ints('axis_w', [], [-1]);
  const cat = g.op('ConcatV2', 'cat', [nchw[0]!, nchw[1]!, 'axis_w'], { N: attr.i(2) });
  const cat2 = g.op('ConcatV2', 'cat2', [nchw[2]!, nchw[2]!, 'minus3'], { N: attr.i(2) });
  g.ints('sizes', [2], [2, -1]);
  g.ints('one', [], [1]);
  g.op('SplitV', 'split', [cat, 'sizes', 'one'], { num_split: attr.i(2) });
  g.op('Sigmoid', 'sig', ['split:0']);
  // The reshape target is computed from constants, as in NanoDet: [1, 1, -1] + SparseToDense(...) = [1, 1, -1].
  g.ints('base', [3], [1, 1, -1], 'DT_INT64');
  g.ints('where', [0, 1], [], 'DT_INT64');
  g.ints('dense_shape', [1], [3], 'DT_INT64');
  g.ints('values', [0], [], 'DT_INT64');
  g.ints('zero', [], [0], 'DT_INT64');
  g.op('SparseToDense', 'dense', ['where', 'dense_shape', 'values', 'zero'], { T: attr.type('DT_INT64') });
  g.op('AddV2', 'target', ['base', 'dense'], { T: attr.type('DT_INT64') });
  g.op('Reshape', 'flat', ['split:1', 'target'], { Tshape: attr.type('DT_INT64') });
  g.ints('perm3', [3], [0, 2, 1]);
  g.op('Transpose', 'flat_t', ['flat', 'perm3']);
  const model = g.output('sig').output('flat_t').output(cat2).build();
  const onnx = convertTfjsGraph(loadTfjsGraph(model.json, model.weightData));
  assert.ok(!onnx.nodes.some((n) => ['SparseToDense', 'AddV2'].includes(n.op)));
  assert.ok(!onnx.initializers.has('crop'));
  await assertMatchesTfjs(model, { x: feed([1, 3, 8, 8], 9) });
});

test('ResizeBilinear: half_pixel_centers, align_corners and the legacy mode', async () => {
  const g = new TinyGraph();
  const x = g.input('x', [1, 5, 7, 2]);
  g.ints('up', [2], [9, 4]);
  g.ints('down', [2], [3, 10]);
  g.op('ResizeBilinear', 'half', [x, 'up'], {
    align_corners: attr.b(false),
    half_pixel_centers: attr.b(true),
  });
  g.op('ResizeBilinear', 'corners', [x, 'down'], {
    align_corners: attr.b(true),
    half_pixel_centers: attr.b(false),
  });
  g.op('ResizeBilinear', 'legacy', [x, 'up'], {
    align_corners: attr.b(false),
    half_pixel_centers: attr.b(false),
  });
  g.op('ResizeBilinear', 'half_down', [x, 'down'], {
    align_corners: attr.b(false),
    half_pixel_centers: attr.b(true),
  });
  const model = g.output('half').output('corners').output('legacy').output('half_down').build();
  await assertMatchesTfjs(model, { x: feed([1, 5, 7, 2], 10) });
});

test('elementwise ops, BiasAdd and broadcasting', async () => {
  const g = new TinyGraph();
  const a = g.input('a', [2, 3, 4]);
  const b = g.input('b', [3, 1]);
  g.floats('c', [4], [0.5, 2, -1, 3]);
  g.op('Sub', 'sub', [a, b]);
  g.op('Mul', 'mul', ['sub', 'c']);
  g.op('RealDiv', 'div', ['mul', 'c']);
  g.op('Maximum', 'max', ['div', b]);
  g.op('Minimum', 'min', ['max', 'c']);
  g.op('Relu', 'relu', ['min']);
  g.op('Tanh', 'tanh', ['sub']);
  g.op('BiasAdd', 'bias', ['tanh', 'c'], { data_format: attr.s('NHWC') });
  g.op('Identity', 'same', ['bias']);
  const model = g.output('relu').output('same').build();
  await assertMatchesTfjs(model, { a: feed([2, 3, 4], 11), b: feed([3, 1], 12) });
});

test('a NanoDet-style NCHW block optimises to Conv (with bias) + LeakyRelu, no transposes', async () => {
  const g = new TinyGraph();
  g.input('input_1', [1, 3, 10, 10]);
  g.ints('to_nhwc', [4], [0, 2, 3, 1]);
  g.ints('to_nchw', [4], [0, 3, 1, 2]);
  g.ints('pads', [4, 2], [0, 0, 0, 0, 1, 1, 1, 1]);
  g.op('Pad', 'pad', ['input_1', 'pads']);
  g.op('Transpose', 't1', ['pad', 'to_nhwc']);
  g.floats('w', [3, 3, 3, 8], randomFloats(216, 13), true);
  g.floats('b', [8], randomFloats(8, 14));
  g.op('Conv2D', 'conv', ['t1', 'w'], {
    ...nhwc,
    strides: attr.ints([1, 1, 1, 1]),
    padding: attr.s('VALID'),
  });
  g.op('Add', 'add', ['conv', 'b']);
  g.op('Transpose', 't2', ['add', 'to_nchw']);
  g.op('LeakyRelu', 'act', ['t2'], { alpha: attr.f(0.1) });
  g.op('Identity', 'Identity', ['act']);
  const model = g.output('Identity').build();
  const graph = loadTfjsGraph(model.json, model.weightData);
  const onnx = convertTfjsGraph(graph, {
    inputNames: { input_1: 'input' },
    outputNames: { 'Identity:0': 'y' },
  });
  assert.deepEqual(
    onnx.nodes.map((n) => n.op),
    ['Pad', 'Conv', 'LeakyRelu'],
  );
  assert.equal(onnx.nodes.find((n) => n.op === 'Conv')?.inputs.length, 3);
  assert.deepEqual(onnx.inputs, [{ name: 'input', dtype: 'float32', shape: [1, 3, 10, 10] }]);
  assert.deepEqual(onnx.outputs, [{ name: 'y', dtype: 'float32', shape: [1, 8, 10, 10] }]);
  await assertMatchesTfjs(model, { input_1: feed([1, 3, 10, 10], 15) });
});

test('the ONNX file declares opset 13, IR 7 and carries the metadata', () => {
  const g = new TinyGraph();
  g.input('x', [1, 2]);
  g.op('Sigmoid', 's', ['x']);
  const model = g.output('s').build();
  const bytes = tfjsGraphToOnnx(loadTfjsGraph(model.json, model.weightData), {
    metadata: { license: 'Apache-2.0' },
    outputNames: { s: 'out' },
  });
  const decoded = decodeOnnxModel(bytes);
  assert.equal(Number(decoded.irVersion), 7);
  assert.equal(Number(decoded.opsetImport[0]?.version), ONNX_OPSET);
  assert.deepEqual(
    decoded.metadataProps.map((p) => [p.key, p.value]),
    [['license', 'Apache-2.0']],
  );
  assert.deepEqual(
    decoded.graph?.output?.map((o) => o.name),
    ['out'],
  );
  assert.deepEqual(
    bytes,
    tfjsGraphToOnnx(loadTfjsGraph(model.json, model.weightData), {
      metadata: { license: 'Apache-2.0' },
      outputNames: { s: 'out' },
    }),
    'conversion is deterministic',
  );
});

test('an unsupported op, or a constant subgraph that cannot be folded, is named in the error', () => {
  const g = new TinyGraph();
  g.input('x', [1, 4]);
  g.op('Erf', 'strange/erf', ['x']);
  let model = g.output('strange/erf').build();
  assert.throws(
    () => convertTfjsGraph(loadTfjsGraph(model.json, model.weightData)),
    /unsupported op Erf \(node "strange\/erf"\)/,
  );

  const h = new TinyGraph();
  h.input('x', [1, 4]);
  h.floats('k', [4], [1, 2, 3, 4]);
  h.op('Floor', 'floor', ['k']);
  h.op('Add', 'y', ['x', 'floor']);
  model = h.output('y').build();
  assert.throws(
    () => convertTfjsGraph(loadTfjsGraph(model.json, model.weightData)),
    /cannot constant-fold op Floor \(node "floor"\)/,
  );

  const k = new TinyGraph();
  k.input('x', [1, 4, 4, 1]);
  k.input('w', [1, 1, 1, 1]);
  k.op('Conv2D', 'conv', ['x', 'w'], { ...nhwc, strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID') });
  model = k.output('conv').build();
  assert.throws(
    () => convertTfjsGraph(loadTfjsGraph(model.json, model.weightData)),
    /Conv2D node "conv": filter \(input 1\) must be constant/,
  );
});
