import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildNanodetOnnx,
  decodeOnnxModel,
  defaultModelPath,
  isNanodetOnnxUpToDate,
  nanodetAttribution,
  nanodetInputName,
  nanodetInputSize,
  nanodetMean,
  nanodetNumClasses,
  nanodetRegMax,
  nanodetStd,
  nanodetStrides,
  nanodetTfjsNames,
  obtainNanodetFiles,
} from '../src/index.ts';
import { maxAbsDiff, runOnnx, runTfjs } from '../src/testing/reference-runners.ts';
import type { TfjsGraphModelJson } from '../src/tfjs-graph.ts';

const root = process.env.ICEBERG_ROOT;
const size = nanodetInputSize;

/** The first frame of the sample, scaled to 416×416 by ffmpeg, normalised, NCHW BGR. */
function firstFrame(sample: string): Float32Array {
  let bgr: Buffer;
  try {
    bgr = execFileSync(process.env.FFMPEG_PATH ?? 'ffmpeg', [
      ...['-v', 'error', '-i', sample, '-frames:v', '1', '-vf', `scale=${size}:${size}`],
      ...['-pix_fmt', 'bgr24', '-f', 'rawvideo', 'pipe:1'],
    ]);
  } catch (err) {
    throw new Error(
      `ffmpeg could not decode ${sample} (run bash scripts/setup.sh): ${(err as Error).message}`,
    );
  }
  assert.equal(bgr.length, size * size * 3);
  const plane = size * size;
  const input = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) input[c * plane + i] = (bgr[i * 3 + c]! - nanodetMean[c]!) / nanodetStd[c]!;
  }
  return input;
}

test('the converted NanoDet-g matches the TF.js graph on a real frame (every output within 1e-4)', async (t) => {
  assert.ok(root, 'ICEBERG_ROOT is not set: run the tests with node scripts/run-tests.mjs');
  const sample = join(root, 'assets', 'samples', 'vtest.avi');
  assert.ok(
    existsSync(sample),
    `${sample} is missing: run the setup (bash scripts/setup.sh) to fetch the sample footage`,
  );

  // The built model when it is current, else a fresh build in a temporary directory.
  let modelPath = defaultModelPath(root);
  let temp: string | undefined;
  if (!(await isNanodetOnnxUpToDate({ root }))) {
    temp = await mkdtemp(join(tmpdir(), 'iceberg-nanodet-'));
    modelPath = (await buildNanodetOnnx({ root, out: join(temp, 'nanodet-g.onnx') })).out;
  }
  try {
    const input = { data: firstFrame(sample), shape: [1, 3, size, size] };
    const bytes = new Uint8Array(await readFile(modelPath));
    const metadata = Object.fromEntries(decodeOnnxModel(bytes).metadataProps.map((p) => [p.key, p.value]));
    assert.equal(metadata.license, 'Apache-2.0');
    assert.equal(metadata.attribution, nanodetAttribution);

    const onnx = await runOnnx(bytes, { [nanodetInputName]: input });
    const source = await obtainNanodetFiles(join(root, '.cache'));
    const json = JSON.parse(await readFile(source.json, 'utf8')) as TfjsGraphModelJson;
    const weights = new Uint8Array(await readFile(source.bin));
    const tfNames = Object.keys(nanodetTfjsNames.outputs);
    const tfjs = await runTfjs(json, weights, { 'input_1:0': input }, tfNames);

    const onnxNames: string[] = Object.values(nanodetTfjsNames.outputs);
    const strides = [...nanodetStrides, ...nanodetStrides];
    tfNames.forEach((tfName, k) => {
      const name = onnxNames[k]!;
      const cells = (size / strides[k]!) ** 2;
      const channels = name.startsWith('scores') ? nanodetNumClasses : 4 * (nanodetRegMax + 1);
      assert.deepEqual([...onnx[name]!.dims], [1, cells, channels], `${name} shape`);
      assert.deepEqual([...tfjs[tfName]!.dims], [1, cells, channels], `${tfName} shape`);
      const diff = maxAbsDiff(onnx[name]!.data, tfjs[tfName]!.data);
      t.diagnostic(`${name} (${tfName}) [1,${cells},${channels}]: max abs diff ${diff.toExponential(2)}`);
      assert.ok(diff < 1e-4, `${name} differs from TF.js ${tfName} by ${diff}`);
    });

    // And the model does its job: the frame is full of pedestrians (class 0, person).
    const person = Math.max(
      ...nanodetStrides.map((s) => {
        const d = onnx[`scores_${s}`]!.data;
        let max = 0;
        for (let i = 0; i < d.length; i += nanodetNumClasses) max = Math.max(max, d[i]!);
        return max;
      }),
    );
    assert.ok(person >= 0.5, `best person score ${person}`);
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
});
