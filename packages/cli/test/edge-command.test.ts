import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
const iceberg = join(root, 'packages/cli/bin/iceberg');
const tmp = mkdtempSync(join(tmpdir(), 'iceberg-edge-cli-'));

function edge(args: string[]) {
  const r = spawnSync(iceberg, ['edge', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr };
}

describe('iceberg edge refuses a wrong configuration', () => {
  test('a misspelt key: exit non-zero, the message names the key', () => {
    const file = join(tmp, 'typo.yaml');
    writeFileSync(file, 'cameras:\n  - id: door\n    input: rtsp://127.0.0.1/x\n    detect: { fsp: 5 }\n');
    const r = edge(['--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ICEBERG_ERR_CONFIG_INVALID/);
    assert.match(r.stderr, /cameras\[0\]\.detect: unknown key "fsp"/);
  });

  test('a missing config file is named', () => {
    const r = edge(['--config', join(tmp, 'missing.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing\.yaml: no such file/);
  });

  test('a malformed --camera flag and an unknown bus are usage errors', () => {
    assert.equal(edge(['--camera', 'no-equals-sign']).code, 2);
    assert.equal(edge(['--camera', 'a=x.mp4', '--bus', 'carrier-pigeon']).code, 2);
  });

  test('no cameras at all is explained', () => {
    const r = edge([]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no cameras/);
  });
});
