import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { examples } from './examples.ts';
import { exportJsonSchemas } from './json-schema.ts';
import { decodeMessage, parseMessage } from './parse.ts';
import { topics } from './topics.ts';

describe('wire contracts v1', () => {
  test('the examples are valid messages of their topics', () => {
    assert.equal(parseMessage('detections', examples.detection).ok, true);
    assert.equal(parseMessage('tracks', examples.trackStarted).ok, true);
    assert.equal(parseMessage('cameraStatus', examples.cameraStatus).ok, true);
    assert.equal(parseMessage('deviceStatus', examples.deviceStatus).ok, true);
  });

  const bad: Array<[string, (m: Record<string, unknown>) => unknown, RegExp]> = [
    [
      'a box outside the frame',
      (m) => ({ ...m, objects: [{ ...examples.detection.objects[0], box: [0.9, 0.9, 0.5, 0.5] }] }),
      /objects\.0\.box/,
    ],
    [
      'a score above 1',
      (m) => ({ ...m, objects: [{ ...examples.detection.objects[0], score: 1.5 }] }),
      /objects\.0\.score/,
    ],
    [
      'an unknown class',
      (m) => ({ ...m, objects: [{ ...examples.detection.objects[0], class: 'dragon' }] }),
      /objects\.0\.class/,
    ],
    ['an unknown field', (m) => ({ ...m, extra: 1 }), /extra/],
    ['a missing camera', (m) => ({ ...m, cameraId: undefined }), /cameraId/],
    ['an id with a slash', (m) => ({ ...m, cameraId: '../etc' }), /cameraId/],
    ['the wrong schema name', (m) => ({ ...m, schema: 'detection.v2' }), /schema/],
    ['a fractional timestamp', (m) => ({ ...m, capturedAt: 1.5 }), /capturedAt/],
  ];
  for (const [name, mutate, where] of bad) {
    test(`a detection with ${name} is rejected, naming the field`, () => {
      const result = parseMessage('detections', mutate(examples.detection));
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, where);
    });
  }

  test('track events are told apart by type; TrackEnded needs its hit count', () => {
    const ended = { ...examples.trackStarted, type: 'TrackEnded', eventId: 'k3x9-7:TrackEnded:0' };
    assert.equal(parseMessage('tracks', ended).ok, false);
    assert.equal(parseMessage('tracks', { ...ended, hits: 12 }).ok, true);
  });

  test('bytes that are not JSON are reported as such', () => {
    const result = decodeMessage('detections', Buffer.from('{"schema": "detection.v1",'));
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.error, /not JSON/);
  });

  test('every topic exports a JSON Schema that names its required fields', () => {
    const schemas = exportJsonSchemas();
    for (const spec of Object.values(topics)) {
      const schema = schemas[spec.schemaName] as { $id: string };
      assert.ok(schema, spec.schemaName);
      assert.match(schema.$id, new RegExp(spec.schemaName));
    }
    const detection = schemas['detection.v1'] as { required: string[]; additionalProperties: boolean };
    assert.ok(detection.required.includes('objects'));
    assert.equal(detection.additionalProperties, false);
  });

  test('messages about one camera share a key, whatever their topic', () => {
    assert.equal(topics.detections.key(examples.detection), topics.tracks.key(examples.trackStarted));
    assert.equal(topics.cameraStatus.key(examples.cameraStatus), 'acme/front-door');
  });
});
