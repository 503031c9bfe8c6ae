import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from './load-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'iceberg-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('configuration', () => {
  test('a minimal file gets every default, frozen, with absolute paths', () => {
    const config = loadConfig({
      file: file('min.yaml', 'cameras:\n  - id: front\n    input: rtsp://10.0.0.5/stream1\n'),
      baseDir: '/srv/iceberg',
    });
    assert.equal(config.cameras[0]!.detect.fps, 2);
    assert.equal(config.cameras[0]!.detect.motion.enabled, true);
    assert.equal(config.cameras[0]!.rtspTransport, 'tcp');
    assert.equal(config.detector.minScore, 0.5);
    assert.deepEqual(config.detector.classes, ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck']);
    assert.equal(config.dataDir, '/srv/iceberg/data');
    assert.equal(config.detector.model, '/srv/iceberg/assets/models/nanodet-g.onnx');
    assert.throws(() => {
      (config.cameras as unknown as unknown[]).push({});
    });
  });

  const wrong: Array<[string, string, RegExp]> = [
    [
      'a misspelt key',
      'cameras:\n  - id: a\n    input: x.mp4\n    detect: { fsp: 5 }\n',
      /cameras\[0\]\.detect: unknown key "fsp"/,
    ],
    ['a missing input', 'cameras:\n  - id: a\n', /cameras\[0\]\.input: .*/],
    [
      'a rate out of range',
      'cameras:\n  - id: a\n    input: x.mp4\n    detect: { fps: 100 }\n',
      /cameras\[0\]\.detect\.fps: .*(100|15)/,
    ],
    ['an unknown class', 'detector:\n  classes: [person, unicorn]\n', /detector\.classes\[1\]/],
    [
      'a duplicate camera id',
      'cameras:\n  - { id: a, input: x.mp4 }\n  - { id: a, input: y.mp4 }\n',
      /cameras\[1\]\.id: duplicate camera id "a"/,
    ],
    ['kafka without brokers', 'bus: { type: kafka }\n', /bus\.kafka: bus\.type is kafka/],
    ['a bad camera id', 'cameras:\n  - { id: "front door/1", input: x.mp4 }\n', /cameras\[0\]\.id/],
    ['YAML that does not parse', 'cameras: [\n', /YAML syntax/],
    ['a list at the top', '- a\n- b\n', /top level must be a mapping/],
  ];
  for (const [name, yaml, expected] of wrong) {
    test(`${name} is refused with a message naming the key`, () => {
      assert.throws(
        () => loadConfig({ file: file(`${name.replaceAll(' ', '-')}.yaml`, yaml) }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ICEBERG_ERR_CONFIG_INVALID');
          assert.match(err.message, expected);
          return true;
        },
      );
    });
  }

  test('the documented example configuration is valid', () => {
    const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
    const config = loadConfig({ file: join(root, 'examples/iceberg.yaml') });
    assert.deepEqual(
      config.cameras.map((c) => [c.id, c.enabled]),
      [
        ['front-door', true],
        ['yard', false],
        ['sample', true],
      ],
    );
  });

  test('a missing file says so', () => {
    assert.throws(() => loadConfig({ file: join(dir, 'nope.yaml') }), /ICEBERG|no such file/);
  });

  test('environment overrides the file, and flags override the environment', () => {
    const path = file('env.yaml', 'dataDir: /var/lib/a\ndevice: { id: from-file }\n');
    const config = loadConfig({
      file: path,
      env: {
        ICEBERG_DATA_DIR: '/var/lib/b',
        ICEBERG_DEVICE_ID: 'from-env',
        ICEBERG_KAFKA_BROKERS: 'k1:9092, k2:9092',
      },
      overrides: { device: { id: 'from-flag' }, bus: { type: 'kafka' } },
    });
    assert.equal(config.dataDir, '/var/lib/b');
    assert.equal(config.device.id, 'from-flag');
    assert.deepEqual(config.bus.kafka?.brokers, ['k1:9092', 'k2:9092']);
  });

  test('a wrong value from the environment names the key it sets', () => {
    assert.throws(() => loadConfig({ env: { ICEBERG_LOG_LEVEL: 'loud' } }), /log\.level/);
  });
});
