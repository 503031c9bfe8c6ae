import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRule } from './rule-schema.ts';

const base = { name: 'Front door at night', cameras: ['front-door'], classes: ['person'] };
const zone = {
  type: 'zone',
  polygon: [
    [0.1, 0.1],
    [0.9, 0.1],
    [0.9, 0.9],
    [0.1, 0.9],
  ],
  on: 'enter',
};
const line = { type: 'line', from: [0.5, 0.9], to: [0.5, 0.1], direction: 'left-to-right' };

describe('parseRule accepts', () => {
  const good: Array<[string, Record<string, unknown>]> = [
    ['a zone rule', { ...base, trigger: zone }],
    ['a concave zone of 64 points', { ...base, trigger: { ...zone, polygon: star(32) } }],
    ['a line rule', { ...base, trigger: line }],
    ['an anywhere rule', { ...base, trigger: { type: 'anywhere' } }],
    ['loitering in a zone', { ...base, trigger: { ...zone, on: 'inside' }, dwellSeconds: 30 }],
    ['a crowd anywhere', { ...base, trigger: { type: 'anywhere' }, minCount: 3 }],
    [
      'every option',
      {
        ...base,
        enabled: false,
        classes: ['person', 'car', 'truck'],
        minScore: 0.6,
        trigger: { ...zone, on: 'inside' },
        dwellSeconds: 10,
        minCount: 2,
        schedule: { timeZone: 'Europe/London', days: ['fri', 'sat'], from: '22:00', to: '06:00' },
        cooldownSeconds: 300,
        actions: [
          { type: 'webhook', url: 'https://hooks.example.com/iceberg', secret: 's3cret' },
          { type: 'email', to: ['guard@example.com', 'owner@example.org'] },
        ],
      },
    ],
  ];
  for (const [name, input] of good) {
    test(name, () => {
      const result = parseRule(input);
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.rule.trigger, input.trigger);
    });
  }

  test('defaults are filled in', () => {
    const result = parseRule({ ...base, trigger: { type: 'anywhere' } });
    assert.ok(result.ok);
    assert.deepEqual(result.rule, {
      ...base,
      enabled: true,
      minScore: 0.5,
      trigger: { type: 'anywhere' },
      minCount: 1,
      cooldownSeconds: 60,
      actions: [],
    });
  });
});

describe('parseRule refuses, naming the field', () => {
  const bad: Array<[string, unknown, string, RegExp]> = [
    [
      'a zone of 2 points',
      {
        ...base,
        trigger: {
          ...zone,
          polygon: [
            [0.1, 0.1],
            [0.5, 0.5],
          ],
        },
      },
      'trigger.polygon',
      /at least 3 points/,
    ],
    [
      'a zone of 65 points',
      { ...base, trigger: { ...zone, polygon: star(33).slice(0, 65) } },
      'trigger.polygon',
      /at most 64/,
    ],
    [
      'a point outside 0..1',
      {
        ...base,
        trigger: {
          ...zone,
          polygon: [
            [0.1, 0.1],
            [0.9, 0.1],
            [1.2, 0.9],
          ],
        },
      },
      'trigger.polygon[2]',
      /within 0\.\.1/,
    ],
    [
      'a point that is not [x, y]',
      { ...base, trigger: { ...zone, polygon: [[0.1, 0.1], [0.9], [0.5, 0.9]] } },
      'trigger.polygon[1]',
      /a point is \[x, y\]/,
    ],
    [
      'a coordinate that is not a number',
      {
        ...base,
        trigger: {
          ...zone,
          polygon: [
            [0.1, 0.1],
            [0.9, '0.1'],
            [0.5, 0.9],
          ],
        },
      },
      'trigger.polygon[1][1]',
      /y must be a number/,
    ],
    [
      'a self-intersecting bow-tie',
      {
        ...base,
        trigger: {
          ...zone,
          polygon: [
            [0.1, 0.1],
            [0.9, 0.9],
            [0.9, 0.1],
            [0.1, 0.9],
          ],
        },
      },
      'trigger.polygon',
      /edges 0–1 and 2–3 cross/,
    ],
    [
      'a zone whose outline touches itself',
      {
        ...base,
        trigger: {
          ...zone,
          polygon: [
            [0.1, 0.1],
            [0.5, 0.5],
            [0.9, 0.1],
            [0.9, 0.9],
            [0.5, 0.5],
            [0.1, 0.9],
          ],
        },
      },
      'trigger.polygon',
      /must not intersect itself/,
    ],
    [
      'a zone of zero area (points on one line)',
      {
        ...base,
        trigger: {
          ...zone,
          polygon: [
            [0.1, 0.1],
            [0.5, 0.5],
            [0.9, 0.9],
          ],
        },
      },
      'trigger.polygon',
      /no area/,
    ],
    [
      'a zone with a repeated point',
      {
        ...base,
        trigger: {
          ...zone,
          polygon: [
            [0.1, 0.1],
            [0.9, 0.1],
            [0.9, 0.1],
            [0.5, 0.9],
          ],
        },
      },
      'trigger.polygon[2]',
      /repeats point 1/,
    ],
    [
      'a line with from = to',
      { ...base, trigger: { ...line, to: [0.5, 0.9] } },
      'trigger.to',
      /different point/,
    ],
    [
      'a line without a direction',
      { ...base, trigger: { ...line, direction: undefined } },
      'trigger.direction',
      /left-to-right/,
    ],
    [
      'an unknown trigger type',
      { ...base, trigger: { type: 'circle' } },
      'trigger.type',
      /"zone", "line" or "anywhere"/,
    ],
    [
      'an unknown class',
      { ...base, classes: ['person', 'unicorn'], trigger: zone },
      'classes[1]',
      /unknown class "unicorn"/,
    ],
    ['no classes', { ...base, classes: [], trigger: zone }, 'classes', /at least one class/],
    ['no cameras', { ...base, cameras: [], trigger: zone }, 'cameras', /at least one camera/],
    [
      'a camera id with a slash',
      { ...base, cameras: ['front/door'], trigger: zone },
      'cameras[0]',
      /letters, digits/,
    ],
    [
      'a camera twice',
      { ...base, cameras: ['a', 'b', 'a'], trigger: zone },
      'cameras[2]',
      /duplicate camera "a"/,
    ],
    ['an empty name', { ...base, name: '  ', trigger: zone }, 'name', /must not be empty/],
    ['a score above 1', { ...base, minScore: 1.5, trigger: zone }, 'minScore', /0\.\.1/],
    [
      'dwell with an enter trigger',
      { ...base, trigger: zone, dwellSeconds: 10 },
      'dwellSeconds',
      /not to a zone "enter" trigger/,
    ],
    [
      'dwell with a line trigger',
      { ...base, trigger: line, dwellSeconds: 10 },
      'dwellSeconds',
      /not to a line trigger/,
    ],
    ['a negative dwell', { ...base, trigger: { type: 'anywhere' }, dwellSeconds: -1 }, 'dwellSeconds', /≥ 0/],
    [
      'a count with a leave trigger',
      { ...base, trigger: { ...zone, on: 'leave' }, minCount: 2 },
      'minCount',
      /zone "inside" and "anywhere"/,
    ],
    [
      'a fractional count',
      { ...base, trigger: { type: 'anywhere' }, minCount: 1.5 },
      'minCount',
      /whole number/,
    ],
    [
      'a bad time zone',
      {
        ...base,
        trigger: zone,
        schedule: { timeZone: 'Europe/Atlantis', days: ['mon'], from: '08:00', to: '18:00' },
      },
      'schedule.timeZone',
      /unknown time zone "Europe\/Atlantis"/,
    ],
    [
      'a bad HH:MM',
      { ...base, trigger: zone, schedule: { timeZone: 'UTC', days: ['mon'], from: '8:00', to: '18:00' } },
      'schedule.from',
      /HH:MM/,
    ],
    [
      'an hour 24',
      { ...base, trigger: zone, schedule: { timeZone: 'UTC', days: ['mon'], from: '08:00', to: '24:00' } },
      'schedule.to',
      /HH:MM/,
    ],
    [
      'an unknown day',
      {
        ...base,
        trigger: zone,
        schedule: { timeZone: 'UTC', days: ['mon', 'funday'], from: '08:00', to: '18:00' },
      },
      'schedule.days[1]',
      /"mon", "tue"/,
    ],
    [
      'no days',
      { ...base, trigger: zone, schedule: { timeZone: 'UTC', days: [], from: '08:00', to: '18:00' } },
      'schedule.days',
      /at least one day/,
    ],
    ['an unknown key at the top', { ...base, trigger: zone, colour: 'red' }, '', /unknown key "colour"/],
    [
      'an unknown key in the trigger',
      { ...base, trigger: { ...zone, radius: 3 } },
      'trigger',
      /unknown key "radius"/,
    ],
    [
      'an unknown key in an action',
      { ...base, trigger: zone, actions: [{ type: 'email', to: ['a@example.com'], cc: [] }] },
      'actions[0]',
      /unknown key "cc"/,
    ],
    [
      'a webhook with an ftp:// URL',
      { ...base, trigger: zone, actions: [{ type: 'webhook', url: 'ftp://files.example.com/x' }] },
      'actions[0].url',
      /http:\/\/ or https:\/\//,
    ],
    [
      'a webhook with no URL at all',
      { ...base, trigger: zone, actions: [{ type: 'webhook', url: 'not a url' }] },
      'actions[0].url',
      /http:\/\/ or https:\/\//,
    ],
    [
      'a bad e-mail address',
      { ...base, trigger: zone, actions: [{ type: 'email', to: ['guard@example.com', 'bob@'] }] },
      'actions[0].to[1]',
      /"bob@" is not an e-mail address/,
    ],
    [
      'an unknown action',
      { ...base, trigger: zone, actions: [{ type: 'sms', to: '+44' }] },
      'actions[0].type',
      /"webhook" or "email"/,
    ],
    [
      'eleven actions',
      {
        ...base,
        trigger: zone,
        actions: Array.from({ length: 11 }, () => ({ type: 'email', to: ['a@example.com'] })),
      },
      'actions',
      /at most 10/,
    ],
    ['a string', 'enter the zone', '', /a rule is a JSON object/],
  ];
  for (const [name, input, path, message] of bad) {
    test(name, () => {
      const result = parseRule(input);
      assert.equal(result.ok, false, `${name} was accepted`);
      if (result.ok) return;
      const hit = result.errors.find((e) => e.path === path);
      assert.ok(hit, `no error at "${path}": ${JSON.stringify(result.errors)}`);
      assert.match(hit.message, message);
    });
  }
});

/** A star with `spikes` points out and as many in: a concave, simple polygon of 2 × spikes points. */
function star(spikes: number): number[][] {
  return Array.from({ length: spikes * 2 }, (_, i) => {
    const angle = (Math.PI * i) / spikes;
    const r = i % 2 === 0 ? 0.45 : 0.2;
    return [0.5 + r * Math.cos(angle), 0.5 + r * Math.sin(angle)];
  });
}
