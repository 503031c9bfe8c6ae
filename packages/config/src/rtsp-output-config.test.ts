import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from './load-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'iceberg-config-rtsp-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('rtspOutput: the device local RTSP output', () => {
  test('off by default; when on: port 8554 on every address, annotated', () => {
    assert.deepEqual(loadConfig({}).rtspOutput, {
      enabled: false,
      port: 8554,
      host: '0.0.0.0',
      annotated: true,
    });
    const on = loadConfig({ file: file('on.yaml', 'rtspOutput:\n  enabled: true\n  annotated: false\n') });
    assert.deepEqual(on.rtspOutput, { enabled: true, port: 8554, host: '0.0.0.0', annotated: false });
  });

  test('a misspelt key or a bad port is an error naming it', () => {
    assert.throws(
      () => loadConfig({ file: file('typo.yaml', 'rtspOutput:\n  enable: true\n') }),
      /rtspOutput: unknown key "enable"/,
    );
    assert.throws(
      () => loadConfig({ file: file('port.yaml', 'rtspOutput:\n  port: 70000\n') }),
      /rtspOutput\.port/,
    );
    assert.throws(
      () => loadConfig({ file: file('host.yaml', 'rtspOutput:\n  host: "0.0.0.0; rm -rf /"\n') }),
      /rtspOutput\.host/,
    );
  });
});
