import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeFloat16 } from './fp16.ts';
import type { DType, Tensor } from './tensor.ts';

/** One attribute of a node, as TF.js writes it (a JSON rendering of TensorFlow's AttrValue). */
export interface TfjsAttrValue {
  s?: string; // base64
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: TfjsTensorShape;
  tensor?: { dtype?: string; tensorShape?: TfjsTensorShape };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; b?: boolean[]; type?: string[] };
  func?: unknown;
}

export interface TfjsTensorShape {
  dim?: { size?: string | number }[];
  unknownRank?: boolean;
}

export interface TfjsNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttrValue>;
  device?: string;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

export interface TfjsWeightsGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

export interface TfjsTensorInfo {
  name: string;
  dtype?: string;
  tensorShape?: TfjsTensorShape;
}

/** The `model.json` of a TF.js graph model (format "graph-model"). */
export interface TfjsGraphModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: { inputs?: Record<string, TfjsTensorInfo>; outputs?: Record<string, TfjsTensorInfo> };
  modelTopology: { node: TfjsNodeDef[]; library?: unknown; versions?: unknown };
  weightsManifest: TfjsWeightsGroup[];
  userDefinedMetadata?: Record<string, unknown>;
}

/** A graph model in memory: its nodes, its decoded weights (the values of its Const nodes). */
export interface TfjsGraph {
  nodes: TfjsNodeDef[];
  byName: Map<string, TfjsNodeDef>;
  weights: Map<string, Tensor>;
  /** Tensor names ("node:0") of the graph inputs (Placeholders), in signature order when known. */
  inputs: string[];
  /** Tensor names ("node:0") of the graph outputs, in signature order when known. */
  outputs: string[];
  json: TfjsGraphModelJson;
}

const tfDTypes: Record<string, DType> = {
  DT_FLOAT: 'float32',
  DT_INT32: 'int32',
  DT_INT64: 'int64',
  DT_BOOL: 'bool',
};

/** TensorFlow's DT_* enum name → our dtype; throws on types the converter does not handle. */
export function dtypeFromTf(tfType: string | undefined, where: string): DType {
  const dtype = tfType === undefined ? undefined : tfDTypes[tfType];
  if (dtype === undefined) throw new Error(`${where}: unsupported TensorFlow dtype ${tfType ?? '(none)'}`);
  return dtype;
}

/** "name:1" → ["name", 1]; "name" → ["name", 0]. */
export function splitTensorName(tensor: string): [node: string, index: number] {
  const m = /^(.*):(\d+)$/.exec(tensor);
  return m ? [m[1]!, Number(m[2])] : [tensor, 0];
}

/** Decodes the weights of a manifest from their concatenated shards into float32/int32 tensors. */
export function decodeWeights(manifest: TfjsWeightsGroup[], data: Uint8Array): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const spec of manifest.flatMap((g) => g.weights)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    let tensor: Tensor;
    let bytes: number;
    if (q) {
      if (spec.dtype !== 'float32')
        throw new Error(`weight ${spec.name}: quantized ${spec.dtype} is not supported`);
      if (q.dtype === 'float16') {
        bytes = size * 2;
        check(spec, offset, bytes, data.length);
        tensor = { dtype: 'float32', shape: spec.shape, data: decodeFloat16(data, offset, size) };
      } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
        const width = q.dtype === 'uint8' ? 1 : 2;
        bytes = size * width;
        check(spec, offset, bytes, data.length);
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        const values = new Float32Array(size);
        for (let i = 0; i < size; i++) {
          const raw = width === 1 ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true);
          values[i] = raw * scale + min;
        }
        tensor = { dtype: 'float32', shape: spec.shape, data: values };
      } else {
        throw new Error(`weight ${spec.name}: unsupported quantization dtype ${q.dtype}`);
      }
    } else if (spec.dtype === 'float32') {
      bytes = size * 4;
      check(spec, offset, bytes, data.length);
      const values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = view.getFloat32(offset + 4 * i, true);
      tensor = { dtype: 'float32', shape: spec.shape, data: values };
    } else if (spec.dtype === 'int32') {
      bytes = size * 4;
      check(spec, offset, bytes, data.length);
      const values = new Int32Array(size);
      for (let i = 0; i < size; i++) values[i] = view.getInt32(offset + 4 * i, true);
      tensor = { dtype: 'int32', shape: spec.shape, data: values };
    } else if (spec.dtype === 'bool') {
      bytes = size;
      check(spec, offset, bytes, data.length);
      tensor = {
        dtype: 'bool',
        shape: spec.shape,
        data: Int32Array.from(data.subarray(offset, offset + size)),
      };
    } else {
      throw new Error(`weight ${spec.name}: unsupported dtype ${spec.dtype}`);
    }
    out.set(spec.name, tensor);
    offset += bytes;
  }
  if (offset !== data.length)
    throw new Error(`weights: manifest describes ${offset} bytes, data has ${data.length}`);
  return out;
}

function check(spec: TfjsWeightSpec, offset: number, bytes: number, total: number): void {
  if (offset + bytes > total)
    throw new Error(`weight ${spec.name}: needs bytes ${offset}..${offset + bytes}, data has ${total}`);
}

/** Builds the in-memory graph from a parsed model.json and its concatenated weight shards. */
export function loadTfjsGraph(json: TfjsGraphModelJson, weightData: Uint8Array): TfjsGraph {
  if (json.format !== undefined && json.format !== 'graph-model') {
    throw new Error(`not a TF.js graph model (format "${json.format}")`);
  }
  const nodes = json.modelTopology.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const weights = decodeWeights(json.weightsManifest, weightData);
  // TF.js stores int64 constants as int32; keep the TensorFlow dtype for the graph's semantics.
  for (const node of nodes) {
    const w = weights.get(node.name);
    if (w && node.op === 'Const' && node.attr?.dtype?.type === 'DT_INT64') w.dtype = 'int64';
  }
  const withPort = (t: string) => (/:\d+$/.test(t) ? t : `${t}:0`);
  const inputs = json.signature?.inputs
    ? Object.keys(json.signature.inputs).map(withPort)
    : nodes.filter((n) => n.op === 'Placeholder').map((n) => `${n.name}:0`);
  let outputs: string[];
  if (json.signature?.outputs) {
    outputs = Object.keys(json.signature.outputs).map(withPort);
  } else {
    const consumed = new Set(
      nodes.flatMap((n) => (n.input ?? []).map((i) => splitTensorName(i.replace(/^\^/, ''))[0])),
    );
    outputs = nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const').map((n) => `${n.name}:0`);
  }
  return { nodes, byName, weights, inputs, outputs, json };
}

/** Reads a model.json and its weight shards (paths relative to it) from disk. */
export async function readTfjsGraph(modelJsonPath: string): Promise<TfjsGraph> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as TfjsGraphModelJson;
  const shards = await Promise.all(
    json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(modelJsonPath), p))),
  );
  return loadTfjsGraph(json, new Uint8Array(Buffer.concat(shards)));
}
