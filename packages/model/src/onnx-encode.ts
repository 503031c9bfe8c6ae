import onnxProto from 'onnx-proto';
import type { OnnxAttr, OnnxGraph, OnnxValueInfo } from './onnx-ir.ts';
import type { DType, Tensor } from './tensor.ts';

const { onnx } = onnxProto;

export interface OnnxModelInfo {
  opsetVersion: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata: Record<string, string>;
}

const elemTypes: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Little-endian raw bytes of a tensor in its ONNX element type (deterministic, host-independent). */
function rawBytes(t: Tensor): Uint8Array {
  const width = t.dtype === 'int64' ? 8 : t.dtype === 'bool' ? 1 : 4;
  const bytes = new Uint8Array(t.data.length * width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    if (t.dtype === 'float32') view.setFloat32(i * 4, v, true);
    else if (t.dtype === 'int32') view.setInt32(i * 4, v, true);
    else if (t.dtype === 'int64') view.setBigInt64(i * 8, BigInt(v), true);
    else view.setUint8(i, v ? 1 : 0);
  }
  return bytes;
}

export function tensorProto(name: string, t: Tensor): onnxProto.onnx.ITensorProto {
  return { name, dims: t.shape, dataType: elemTypes[t.dtype], rawData: rawBytes(t) };
}

function attributeProto(name: string, a: OnnxAttr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(v: OnnxValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: { elemType: elemTypes[v.dtype], shape: { dim: v.shape.map((d) => ({ dimValue: d })) } },
    },
  };
}

/** Serialises the graph as an ONNX ModelProto. */
export function encodeOnnxModel(graph: OnnxGraph, info: OnnxModelInfo): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: info.irVersion,
    producerName: info.producerName,
    producerVersion: info.producerVersion,
    docString: info.docString ?? '',
    opsetImport: [{ domain: '', version: info.opsetVersion }],
    metadataProps: Object.entries(info.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, v]) => attributeProto(k, v)),
      })),
      initializer: [...graph.initializers].map(([name, t]) => tensorProto(name, t)),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Decodes a ModelProto (for inspecting a built model: metadata, opset, names). */
export function decodeOnnxModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
