import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import type { TfjsGraphModelJson } from '../tfjs-graph.ts';

/** Runs a model both ways for tests: the TF.js graph on tfjs-core's CPU backend, the ONNX file on ORT. */

export interface Feed {
  data: Float32Array;
  shape: number[];
}

let ready: Promise<void> | undefined;
function cpuBackend(): Promise<void> {
  ready ??= (async () => {
    tf.env().set('PROD', true); // no "install tfjs-node" banner
    await tf.setBackend('cpu');
  })();
  return ready;
}

/** Executes a TF.js graph model; outputs by TF tensor name ("Identity:0"). */
export async function runTfjs(
  json: TfjsGraphModelJson,
  weightData: Uint8Array,
  inputs: Record<string, Feed>,
  outputs: string[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  await cpuBackend();
  const weights = weightData.buffer.slice(
    weightData.byteOffset,
    weightData.byteOffset + weightData.byteLength,
  );
  const model = await loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
      weightData: weights as ArrayBuffer,
    }),
  );
  const feeds = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
  const result = model.execute(feeds, outputs);
  const tensors = Array.isArray(result) ? result : [result];
  const values = Object.fromEntries(
    outputs.map((name, k) => [
      name,
      { data: tensors[k]!.dataSync() as Float32Array, dims: tensors[k]!.shape },
    ]),
  );
  tf.dispose([...tensors, ...Object.values(feeds)]);
  model.dispose();
  return values;
}

/** Runs an ONNX model on ONNX Runtime (CPU); outputs by ONNX name. */
export async function runOnnx(
  model: Uint8Array | string,
  inputs: Record<string, Feed>,
  options: { intraOpNumThreads?: number } = {},
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(model as Uint8Array, options);
  try {
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.shape)]),
    );
    const result = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(result).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]),
    );
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = d; // NaN propagates as a failure
  }
  return max;
}
