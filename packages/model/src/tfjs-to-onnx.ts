import { canFold, foldNode } from './const-fold.ts';
import { fuseConvBias } from './fuse-conv-bias.ts';
import { encodeOnnxModel, type OnnxModelInfo } from './onnx-encode.ts';
import { type OnnxAttr, type OnnxGraph, type OnnxNode, removeDeadCode } from './onnx-ir.ts';
import { optimizeTransposes } from './optimize-transposes.ts';
import { removeIdentities } from './remove-identities.ts';
import type { Tensor } from './tensor.ts';
import { dtypeFromTf, splitTensorName, type TfjsGraph, type TfjsNodeDef } from './tfjs-graph.ts';
import { type OpContext, opConverters, type TensorRef } from './tfjs-ops.ts';

/** Bump when the converter's output for the same input changes. */
export const CONVERTER_VERSION = '1.0.0';

export interface ConvertOptions {
  /** TF tensor name ("input_1:0") → ONNX graph input name. Unmapped inputs keep the node name. */
  inputNames?: Record<string, string>;
  /** TF tensor name ("Identity:0") → ONNX graph output name. */
  outputNames?: Record<string, string>;
  /** The TF tensors to output, in order; default: the keys of outputNames, else the graph's outputs. */
  outputs?: string[];
  /** Static shapes for inputs whose Placeholder leaves dimensions unknown. */
  inputShapes?: Record<string, number[]>;
  graphName?: string;
  /** Key/value pairs stored in the model's metadata_props. */
  metadata?: Record<string, string>;
  docString?: string;
  /** Cancel layout transposes and fuse conv biases (default true). */
  optimize?: boolean;
}

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

const withPort = (t: string) => (/:\d+$/.test(t) ? t : `${t}:0`);

/** The TF nodes the outputs depend on, inputs before users (iterative DFS). */
function topoOrder(graph: TfjsGraph, outputs: string[]): TfjsNodeDef[] {
  const order: TfjsNodeDef[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: { node: TfjsNodeDef; next: number }[] = [];
  const push = (name: string, from: string) => {
    const node = graph.byName.get(name);
    if (!node) throw new Error(`node "${from}" reads "${name}", which is not in the graph`);
    if (state.get(name) === 'visiting') throw new Error(`the graph has a cycle through "${name}"`);
    if (state.get(name) === 'done') return;
    state.set(name, 'visiting');
    stack.push({ node, next: 0 });
  };
  for (const out of outputs) {
    push(splitTensorName(out)[0], 'outputs');
    while (stack.length > 0) {
      const top = stack.at(-1)!;
      const inputs = top.node.input ?? [];
      if (top.next < inputs.length) {
        const raw = inputs[top.next++]!;
        push(splitTensorName(raw.replace(/^\^/, ''))[0], top.node.name);
      } else {
        stack.pop();
        state.set(top.node.name, 'done');
        order.push(top.node);
      }
    }
  }
  return order;
}

/** Converts an in-memory TF.js graph into an ONNX graph (opset 13), folding constant subgraphs in JS. */
export function convertTfjsGraph(graph: TfjsGraph, options: ConvertOptions = {}): OnnxGraph {
  const outputNames = Object.fromEntries(
    Object.entries(options.outputNames ?? {}).map(([k, v]) => [withPort(k), v]),
  );
  const inputNames = Object.fromEntries(
    Object.entries(options.inputNames ?? {}).map(([k, v]) => [withPort(k), v]),
  );
  const inputShapes = Object.fromEntries(
    Object.entries(options.inputShapes ?? {}).map(([k, v]) => [withPort(k), v]),
  );
  const outputs = (
    options.outputs ?? (options.outputNames ? Object.keys(options.outputNames) : graph.outputs)
  ).map(withPort);
  const onnx: OnnxGraph = {
    name: options.graphName ?? 'tfjs_graph',
    nodes: [],
    initializers: new Map(),
    inputs: [],
    outputs: [],
  };
  const refs = new Map<string, TensorRef>();
  // TF node names and the requested output names are taken; helper tensors get fresh names.
  const usedNames = new Set<string>(graph.byName.keys());
  for (const name of [...Object.values(inputNames), ...Object.values(outputNames)]) {
    if (usedNames.has(name))
      throw new Error(`ONNX name "${name}" is already a node of the graph or another rename`);
    usedNames.add(name);
  }
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; usedNames.has(name); i++) name = `${base}_${i}`;
    usedNames.add(name);
    return name;
  };
  const defaultName = (node: string, k: number) =>
    outputNames[`${node}:${k}`] ?? (k === 0 ? node : `${node}:${k}`);

  for (const node of topoOrder(graph, outputs)) {
    const dataInputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const inputs = dataInputs.map((i) => {
      const ref = refs.get(withPort(i));
      if (!ref) throw new Error(`${node.op} node "${node.name}": input "${i}" was not produced`);
      return ref;
    });

    if (node.op === 'Placeholder') {
      const tensor = `${node.name}:0`;
      const attrShape = (node.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size ?? -1));
      const shape = inputShapes[tensor] ?? attrShape;
      if (shape.some((d) => d < 0)) {
        throw new Error(`input "${tensor}" has unknown dimensions [${shape}]: give inputShapes`);
      }
      const ref: TensorRef = {
        name: inputNames[tensor] ?? node.name,
        dtype: dtypeFromTf(node.attr?.dtype?.type, `Placeholder ${node.name}`),
        shape,
      };
      refs.set(tensor, ref);
      onnx.inputs.push({ name: ref.name, dtype: ref.dtype, shape: ref.shape });
      continue;
    }

    if (node.op === 'Const') {
      const value = graph.weights.get(node.name);
      if (!value) throw new Error(`Const node "${node.name}" has no value in the weights manifest`);
      refs.set(`${node.name}:0`, { name: node.name, dtype: value.dtype, shape: value.shape, value });
      continue;
    }

    if (inputs.length > 0 && inputs.every((r) => r.value !== undefined) && canFold(node.op)) {
      foldNode(
        node,
        inputs.map((r) => r.value!),
      ).forEach((value, k) => {
        const name = k === 0 ? node.name : `${node.name}:${k}`;
        refs.set(`${node.name}:${k}`, { name, dtype: value.dtype, shape: value.shape, value });
      });
      continue;
    }

    const converter = opConverters[node.op];
    if (!converter) {
      const constant = inputs.length > 0 && inputs.every((r) => r.value !== undefined);
      throw new Error(
        constant
          ? `cannot constant-fold op ${node.op} (node "${node.name}"): no JS evaluator for it`
          : `unsupported op ${node.op} (node "${node.name}")`,
      );
    }
    const ctx: OpContext = {
      node,
      inputs,
      outputName: (k) => defaultName(node.name, k),
      temp: (suffix) => unique(`${node.name}/${suffix}`),
      emit: (op, nodeInputs, nodeOutputs, attrs: Record<string, OnnxAttr> = {}) => {
        const onnxNode: OnnxNode = {
          name: unique(`${node.name}#${op}`),
          op,
          inputs: nodeInputs,
          outputs: nodeOutputs,
          attrs,
        };
        onnx.nodes.push(onnxNode);
      },
      use: (k) => {
        const ref = inputs[k];
        if (!ref) throw new Error(`${node.op} node "${node.name}": input ${k} is missing`);
        if (ref.value && !onnx.initializers.has(ref.name)) onnx.initializers.set(ref.name, ref.value);
        return ref.name;
      },
      initializer: (suffix, t: Tensor) => {
        const name = unique(`${node.name}/${suffix}`);
        onnx.initializers.set(name, t);
        return name;
      },
      constant: (k, what) => {
        const value = inputs[k]?.value;
        if (!value) throw new Error(`${node.op} node "${node.name}": ${what} (input ${k}) must be constant`);
        return value;
      },
    };
    converter(ctx).forEach((ref, k) => {
      refs.set(`${node.name}:${k}`, ref);
    });
  }

  for (const out of outputs) {
    const ref = refs.get(out);
    if (!ref) throw new Error(`output "${out}" was not produced`);
    const name = outputNames[out] ?? ref.name;
    if (ref.value && !onnx.initializers.has(ref.name)) onnx.initializers.set(ref.name, ref.value);
    if (ref.name !== name || ref.value || onnx.inputs.some((i) => i.name === name)) {
      const identity = unique(`${name}#Identity`);
      onnx.nodes.push({ name: identity, op: 'Identity', inputs: [ref.name], outputs: [name], attrs: {} });
    }
    onnx.outputs.push({ name, dtype: ref.dtype, shape: ref.shape });
  }

  removeDeadCode(onnx);
  if (options.optimize ?? true) {
    optimizeTransposes(onnx);
    fuseConvBias(onnx);
    removeIdentities(onnx);
    removeDeadCode(onnx);
  }
  return onnx;
}

/** Converts a TF.js graph to the bytes of an ONNX model (opset 13, IR 7). */
export function tfjsGraphToOnnx(graph: TfjsGraph, options: ConvertOptions = {}): Uint8Array {
  const onnx = convertTfjsGraph(graph, options);
  const info: OnnxModelInfo = {
    opsetVersion: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    producerName: 'iceberg-tfjs-to-onnx',
    producerVersion: CONVERTER_VERSION,
    metadata: options.metadata ?? {},
  };
  if (options.docString !== undefined) info.docString = options.docString;
  return encodeOnnxModel(onnx, info);
}
