import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildNanodetOnnx,
  decodeOnnxModel,
  defaultModelPath,
  isNanodetOnnxUpToDate,
  nanodetInputName,
  nanodetOutputs,
  nanodetSource,
} from '../src/index.ts';

const root = process.env.ICEBERG_ROOT;

test('build-model builds once, then finds it up to date; the build is reproducible', async () => {
  assert.ok(root, 'ICEBERG_ROOT is not set: run the tests with node scripts/run-tests.mjs');
  const dir = await mkdtemp(join(tmpdir(), 'iceberg-build-model-'));
  try {
    const out = join(dir, 'models', 'nanodet-g.onnx');
    const first = await buildNanodetOnnx({ root, out });
    assert.equal(first.action, 'built');
    assert.equal(await isNanodetOnnxUpToDate({ root, out }), true);
    const mtime = (await stat(out)).mtimeMs;
    const second = await buildNanodetOnnx({ root, out });
    assert.equal(second.action, 'up-to-date');
    assert.equal(second.sha256, first.sha256);
    assert.equal((await stat(out)).mtimeMs, mtime, 'the up-to-date path does not rewrite the file');

    const sidecar = JSON.parse(await readFile(`${out}.json`, 'utf8'));
    assert.equal(sidecar.sha256, first.sha256);
    assert.equal(sidecar.key.integrity, nanodetSource.integrity);
    const notice = await readFile(join(dir, 'models', 'NOTICE-nanodet.txt'), 'utf8');
    assert.match(notice, /NanoDet by RangiLyu, https:\/\/github.com\/RangiLyu\/nanodet, Apache-2.0/);
    assert.match(notice, /TF.js conversion by Vladimir Mandic, MIT/);

    const model = decodeOnnxModel(new Uint8Array(await readFile(out)));
    assert.deepEqual(
      model.graph?.input?.map((i) => i.name),
      [nanodetInputName],
    );
    assert.deepEqual(
      model.graph?.output?.map((o) => o.name),
      [...Object.values(nanodetOutputs.scores), ...Object.values(nanodetOutputs.boxes)],
    );
    assert.ok(
      !model.graph?.node?.some((n) => n.opType === 'Transpose' && !n.output?.[0]?.match(/^(scores|boxes)_/)),
    );

    // A forced rebuild gives the same bytes, and so does the repository's build when it is current.
    const forced = await buildNanodetOnnx({ root, out, force: true });
    assert.equal(forced.action, 'built');
    assert.equal(forced.sha256, first.sha256);
    if (await isNanodetOnnxUpToDate({ root })) {
      const repo = await readFile(defaultModelPath(root));
      assert.ok(repo.equals(await readFile(out)), 'assets/models/nanodet-g.onnx has the same bytes');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
