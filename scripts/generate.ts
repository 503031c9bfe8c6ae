// Writes the generated files that are committed (JSON Schemas of the wire contracts, …).
//   node --import tsx scripts/generate.ts          regenerate
//   node --import tsx scripts/generate.ts --check  fail if a committed file is out of date (CI)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, systemClock } from '@iceberg/common';
import { ServerConfig } from '@iceberg/config';
import { exportJsonSchemas } from '@iceberg/contracts';
import { buildApi, createMetrics, WsHub } from '@iceberg/server';
import { createStore, defaultPgliteTemplatePath, openDatabase } from '@iceberg/store';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

const files = new Map<string, string>();
for (const [name, schema] of Object.entries(exportJsonSchemas())) {
  files.set(join(root, 'packages/contracts/schemas', `${name}.json`), `${JSON.stringify(schema, null, 2)}\n`);
}

// The OpenAPI document, from the real route schemas (an in-memory database stands behind them).
{
  const database = await openDatabase({ pgliteTemplate: defaultPgliteTemplatePath() });
  const hub = new WsHub();
  const api = await buildApi({
    store: createStore(database.db),
    hub,
    metrics: createMetrics(),
    config: ServerConfig.parse({}),
    dataDir: root,
    clock: systemClock,
    logger: silentLogger(),
  });
  files.set(join(root, 'docs/openapi.json'), `${JSON.stringify(api.swagger(), null, 2)}\n`);
  await api.close();
  hub.close();
  await database.close();
}

// The web app's API types, generated from that document (never written by hand).
{
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync: read, writeFileSync: write } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'iceberg-gen-'));
  write(join(dir, 'openapi.json'), files.get(join(root, 'docs/openapi.json'))!);
  const out = join(dir, 'schema.ts');
  const bin = join(root, 'packages/web/node_modules/.bin/openapi-typescript');
  const run = spawnSync(bin, [join(dir, 'openapi.json'), '-o', out], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openapi-typescript failed: ${run.stderr || run.error}`);
  files.set(join(root, 'packages/web/src/api/schema.generated.ts'), read(out, 'utf8'));
}

let stale = 0;
for (const [path, content] of files) {
  let current: string | null = null;
  try {
    current = readFileSync(path, 'utf8');
  } catch {}
  if (current === content) continue;
  if (check) {
    console.error(`out of date: ${relative(root, path)} (run: npm run generate)`);
    stale++;
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`wrote ${relative(root, path)}`);
  }
}
if (stale > 0) process.exit(1);
