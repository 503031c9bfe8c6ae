import type { TfjsAttrValue, TfjsGraphModelJson, TfjsNodeDef, TfjsWeightSpec } from '../tfjs-graph.ts';

/** Builds small TF.js graph models in memory, for tests. */

export const attr = {
  s: (value: string): TfjsAttrValue => ({ s: Buffer.from(value).toString('base64') }),
  i: (value: number): TfjsAttrValue => ({ i: String(value) }),
  f: (value: number): TfjsAttrValue => ({ f: value }),
  b: (value: boolean): TfjsAttrValue => ({ b: value }),
  ints: (value: number[]): TfjsAttrValue => ({ list: { i: value.map(String) } }),
  type: (value: string): TfjsAttrValue => ({ type: value }),
};

const float = { T: attr.type('DT_FLOAT') };

export interface TinyModel {
  json: TfjsGraphModelJson;
  weightData: Uint8Array;
}

export class TinyGraph {
  private readonly nodes: TfjsNodeDef[] = [];
  private readonly specs: TfjsWeightSpec[] = [];
  private readonly chunks: Uint8Array[] = [];
  private readonly outputs: string[] = [];

  input(name: string, shape: number[]): string {
    this.nodes.push({
      name,
      op: 'Placeholder',
      attr: {
        dtype: attr.type('DT_FLOAT'),
        shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } },
      },
    });
    return name;
  }

  /** A float32 weight; `fp16` stores it as TF.js's float16 quantization does. */
  floats(name: string, shape: number[], values: ArrayLike<number>, fp16 = false): string {
    const data = Float32Array.from(values);
    if (fp16) {
      const bytes = new Uint8Array(data.length * 2);
      const view = new DataView(bytes.buffer);
      data.forEach((v, i) => {
        view.setUint16(i * 2, toHalf(v), true);
      });
      this.addConst(name, 'DT_FLOAT', shape, bytes, {
        name,
        shape,
        dtype: 'float32',
        quantization: { dtype: 'float16', original_dtype: 'float32' },
      });
    } else {
      this.addConst(name, 'DT_FLOAT', shape, new Uint8Array(data.buffer), { name, shape, dtype: 'float32' });
    }
    return name;
  }

  /** An int32 weight (TF.js also stores int64 constants this way; `tfType` keeps the graph's type). */
  ints(name: string, shape: number[], values: number[], tfType = 'DT_INT32'): string {
    const data = Int32Array.from(values);
    this.addConst(name, tfType, shape, new Uint8Array(data.buffer), { name, shape, dtype: 'int32' });
    return name;
  }

  op(op: string, name: string, inputs: string[], attrs: Record<string, TfjsAttrValue> = {}): string {
    this.nodes.push({ name, op, input: inputs, attr: { ...float, ...attrs } });
    return name;
  }

  output(tensor: string): this {
    this.outputs.push(tensor);
    return this;
  }

  build(): TinyModel {
    const signature = {
      inputs: Object.fromEntries(
        this.nodes.filter((n) => n.op === 'Placeholder').map((n) => [`${n.name}:0`, { name: `${n.name}:0` }]),
      ),
      outputs: Object.fromEntries(this.outputs.map((o) => [withPort(o), { name: withPort(o) }])),
    };
    const json: TfjsGraphModelJson = {
      format: 'graph-model',
      generatedBy: 'tiny-graph',
      convertedBy: null,
      signature,
      modelTopology: { node: this.nodes, library: {}, versions: {} },
      weightsManifest: [{ paths: ['weights.bin'], weights: this.specs }],
    };
    return { json, weightData: new Uint8Array(Buffer.concat(this.chunks)) };
  }

  private addConst(
    name: string,
    tfType: string,
    shape: number[],
    bytes: Uint8Array,
    spec: TfjsWeightSpec,
  ): void {
    this.nodes.push({
      name,
      op: 'Const',
      attr: {
        dtype: attr.type(tfType),
        value: { tensor: { dtype: tfType, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } },
      },
    });
    this.specs.push(spec);
    this.chunks.push(bytes);
  }
}

const withPort = (t: string) => (/:\d+$/.test(t) ? t : `${t}:0`);

/** float → nearest binary16 (round to nearest even), for making fp16 test weights. */
export function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // may carry into the exponent, up to infinity
  return sign | half;
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomFloats(count: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}
