import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Rule, RuleSpecInput } from './rule-schema.ts';
import { initialState } from './rule-state.ts';
import {
  brief,
  frame,
  makeRule,
  run,
  square,
  T0,
  type Thing,
  trackEnded,
  walkAcross,
} from './rules-engine.fixtures.ts';
import { evaluate, type RuleInput } from './rules-engine.ts';

const s = (seconds: number) => T0 + seconds * 1000;
const zone = (on: 'enter' | 'inside' | 'leave') => ({ type: 'zone' as const, polygon: square, on });
/** Frames at 2 fps from `from` seconds: frame k shows `things(k)`. */
const frames = (from: number, n: number, things: (k: number) => Thing[]): RuleInput[] =>
  Array.from({ length: n }, (_, k) => frame(s(from + k * 0.5), things(k)));

interface Case {
  name: string;
  rule: Partial<RuleSpecInput> & Pick<RuleSpecInput, 'trigger'>;
  inputs: RuleInput[];
  expected: string[];
}

function table(cases: Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(brief(run(makeRule(c.rule), c.inputs).decisions), c.expected);
    });
  }
}

describe('zones: a person walking across at 2 fps (inside from 3 s to 4.5 s)', () => {
  table([
    {
      name: 'enter fires once, when the point comes inside',
      rule: { trigger: zone('enter') },
      inputs: walkAcross(),
      expected: ['enter@3#p1'],
    },
    {
      name: 'leave fires once, when the point goes outside',
      rule: { trigger: zone('leave') },
      inputs: walkAcross(),
      expected: ['leave@5#p1'],
    },
    {
      name: 'inside fires once per stay',
      rule: { trigger: zone('inside') },
      inputs: walkAcross(),
      expected: ['inside@3#p1'],
    },
    {
      name: 'dwell 1.5 s fires once, after 1.5 s inside and not before',
      rule: { trigger: zone('inside'), dwellSeconds: 1.5 },
      inputs: walkAcross(),
      expected: ['dwell@4.5#p1'],
    },
    {
      name: 'dwell 2 s never fires: the stay lasted 1.5 s',
      rule: { trigger: zone('inside'), dwellSeconds: 2 },
      inputs: walkAcross(),
      expected: [],
    },
    {
      name: 'a car is not in the rule’s classes',
      rule: { trigger: zone('enter') },
      inputs: walkAcross('c1', { class: 'car' }),
      expected: [],
    },
    {
      name: 'the same car fires a rule about cars',
      rule: { trigger: zone('enter'), classes: ['car', 'truck'] },
      inputs: walkAcross('c1', { class: 'car' }),
      expected: ['enter@3#c1'],
    },
    {
      name: 'a low score is ignored',
      rule: { trigger: zone('enter') },
      inputs: walkAcross('p1', { score: 0.3 }),
      expected: [],
    },
    {
      name: 'a low score passes a lower minScore',
      rule: { trigger: zone('enter'), minScore: 0.25 },
      inputs: walkAcross('p1', { score: 0.3 }),
      expected: ['enter@3#p1'],
    },
    {
      name: 'an unconfirmed object (trackId null) is ignored',
      rule: { trigger: zone('enter') },
      inputs: walkAcross(null),
      expected: [],
    },
    {
      name: 'first sighting inside counts as entering',
      rule: { trigger: zone('enter') },
      inputs: frames(0, 3, () => [{ id: 'p1', at: [0.5, 0.6] }]),
      expected: ['enter@0#p1'],
    },
    {
      name: 'first sighting outside is not a leave',
      rule: { trigger: zone('leave') },
      inputs: frames(0, 3, () => [{ id: 'p1', at: [0.2, 0.6] }]),
      expected: [],
    },
    {
      name: 'leave on TrackEnded while inside, at the event’s time',
      rule: { trigger: zone('leave') },
      inputs: [
        ...frames(0, 3, () => [{ id: 'p1', at: [0.5, 0.6] }]),
        trackEnded(s(2), 'p1', [0.5, 0.6], 'person', 'cam-1', s(1)),
      ],
      expected: ['leave@2#p1'],
    },
    {
      name: 'a TrackEnded ahead of its frames (the detections lag) waits for them, then leaves',
      rule: { trigger: zone('leave') },
      inputs: [
        trackEnded(s(2), 'p1', [0.5, 0.6], 'person', 'cam-1', s(1)),
        ...frames(0, 4, () => [{ id: 'p1', at: [0.5, 0.6] }]),
      ],
      expected: ['leave@2#p1'],
    },
    {
      name: 'a person whose TrackEnded came before any of its frames still alerts',
      rule: { trigger: zone('enter') },
      inputs: [
        trackEnded(s(3), 'p1', [0.5, 0.6], 'person', 'cam-1', s(1)),
        trackEnded(s(3), 'p2', [0.5, 0.6], 'person', 'cam-1', s(1)),
        frame(s(0), [{ id: 'p1', at: [0.2, 0.6] }]),
        frame(s(0.5), [{ id: 'p1', at: [0.5, 0.6] }]),
        frame(s(1), [
          { id: 'p1', at: [0.5, 0.6] },
          { id: 'p2', at: [0.5, 0.6] },
        ]),
        // ended at its last sighting: a later frame does not bring it back
        frame(s(1.5), [{ id: 'p2', at: [0.2, 0.6] }]),
        frame(s(2), [{ id: 'p2', at: [0.5, 0.6] }]),
      ],
      expected: ['enter@0.5#p1', 'enter@1#p2'],
    },
    {
      name: 'TrackEnded outside the zone is not a leave',
      rule: { trigger: zone('leave') },
      inputs: [...frames(0, 3, () => [{ id: 'p1', at: [0.2, 0.6] }]), trackEnded(s(2), 'p1', [0.2, 0.6])],
      expected: [],
    },
    {
      name: 'a TrackEnded delivered twice leaves once',
      rule: { trigger: zone('leave') },
      inputs: [
        ...frames(0, 2, () => [{ id: 'p1', at: [0.5, 0.6] }]),
        trackEnded(s(1), 'p1', [0.5, 0.6], 'person', 'cam-1', s(0.5)),
        trackEnded(s(1), 'p1', [0.5, 0.6], 'person', 'cam-1', s(0.5)),
      ],
      expected: ['leave@1#p1'],
    },
    {
      name: 'a frame arriving after TrackEnded does not revive the track (no second enter)',
      rule: { trigger: zone('enter') },
      inputs: [
        frame(s(0), [{ id: 'p1', at: [0.5, 0.6] }]),
        trackEnded(s(1), 'p1', [0.5, 0.6]),
        frame(s(1), [{ id: 'p1', at: [0.5, 0.6] }]),
      ],
      expected: ['enter@0#p1'],
    },
    {
      name: 'a still person carried by motion gating (inferred: false) dwells',
      rule: { trigger: zone('inside'), dwellSeconds: 10 },
      inputs: [
        frame(s(0), [{ id: 'p1', at: [0.5, 0.6] }]),
        ...Array.from({ length: 25 }, (_, k) =>
          frame(s(0.5 + k * 0.5), [{ id: 'p1', at: [0.5, 0.6] }], { inferred: false }),
        ),
      ],
      expected: ['dwell@10#p1'],
    },
    {
      name: 'the dwell clock restarts after the object was seen outside',
      rule: { trigger: zone('inside'), dwellSeconds: 2 },
      inputs: frames(0, 12, (k) => [{ id: 'p1', at: [k === 3 ? 0.3 : 0.5, 0.6] }]),
      expected: ['dwell@4#p1'],
    },
    {
      name: 'two people: one decision each, in frame order',
      rule: { trigger: zone('enter') },
      inputs: frames(0, 2, () => [
        { id: 'b', at: [0.45, 0.6] },
        { id: 'a', at: [0.55, 0.6] },
      ]),
      expected: ['enter@0#b', 'enter@0#a'],
    },
  ]);
});

describe('anywhere', () => {
  table([
    {
      name: 'present: fires once per track',
      rule: { trigger: { type: 'anywhere' } },
      inputs: frames(0, 4, (k) => [
        { id: 'p1', at: [0.1 + 0.1 * k, 0.5] },
        ...(k >= 2 ? [{ id: 'p2', at: [0.9, 0.9] } as Thing] : []),
      ]),
      expected: ['inside@0#p1', 'inside@1#p2'],
    },
    {
      name: 'loitering 3 s anywhere',
      rule: { trigger: { type: 'anywhere' }, dwellSeconds: 3 },
      inputs: frames(0, 10, (k) => [{ id: 'p1', at: [0.1 + 0.05 * k, 0.5] }]),
      expected: ['dwell@3#p1'],
    },
  ]);
});

describe('counts (minCount)', () => {
  // a is inside from 0 s to 2.5 s; b comes in at 1.5 s and stays.
  const together = frames(0, 10, (k) => [
    { id: 'a', at: [k <= 5 ? 0.5 : 0.2, 0.6] },
    { id: 'b', at: [k >= 3 ? 0.45 : 0.8, 0.6] },
  ]);
  // a leaves at 1 s, before b comes in at 1.5 s.
  const apart = frames(0, 10, (k) => [
    { id: 'a', at: [k <= 1 ? 0.5 : 0.2, 0.6] },
    { id: 'b', at: [k >= 3 ? 0.45 : 0.8, 0.6] },
  ]);
  table([
    {
      name: 'minCount 2 fires when two are inside together, with both tracks',
      rule: { trigger: zone('inside'), minCount: 2 },
      inputs: together,
      expected: ['count@1.5#a+b'],
    },
    {
      name: 'minCount 2 does not fire when they are inside one after the other',
      rule: { trigger: zone('inside'), minCount: 2 },
      inputs: apart,
      expected: [],
    },
    {
      name: 'minCount 3 does not fire with two',
      rule: { trigger: zone('inside'), minCount: 3 },
      inputs: together,
      expected: [],
    },
    {
      name: 'a crowd fires once while it lasts, again once it formed anew (no cooldown)',
      rule: { trigger: { type: 'anywhere' }, minCount: 2, cooldownSeconds: 0 },
      inputs: frames(0, 8, (k) => [
        { id: 'a', at: [0.5, 0.5] },
        ...(k === 2 || k === 3 ? [] : [{ id: 'b', at: [0.6, 0.6] } as Thing]),
      ]),
      expected: ['count@0#a+b', 'count@2#a+b'],
    },
    {
      name: 'objects count only once they have dwelt',
      rule: { trigger: zone('inside'), minCount: 2, dwellSeconds: 1 },
      inputs: together,
      expected: ['count@2.5#a+b'],
    },
  ]);
});

describe('lines', () => {
  // Drawn upwards, so its left is the picture's left.
  const upwards = { from: [0.5, 0.9] as [number, number], to: [0.5, 0.1] as [number, number] };
  // Drawn from left to right, so its left is above it.
  const rightwards = { from: [0.1, 0.5] as [number, number], to: [0.9, 0.5] as [number, number] };
  const walkRight = frames(0, 10, (k) => [{ id: 'p1', at: [0.27 + 0.05 * k, 0.5] }]); // crosses x=0.5 at 2.5 s
  const walkLeft = frames(0, 10, (k) => [{ id: 'p1', at: [0.73 - 0.05 * k, 0.5] }]);
  const walkDown = frames(0, 10, (k) => [{ id: 'p1', at: [0.3, 0.27 + 0.05 * k] }]);
  const line = (
    ends: { from: [number, number]; to: [number, number] },
    direction: 'left-to-right' | 'right-to-left' | 'any',
  ) => ({ type: 'line' as const, ...ends, direction });
  table([
    {
      name: 'walking right crosses an upward line left-to-right',
      rule: { trigger: line(upwards, 'left-to-right') },
      inputs: walkRight,
      expected: ['cross@2.5#p1'],
    },
    {
      name: 'walking right does not cross it right-to-left',
      rule: { trigger: line(upwards, 'right-to-left') },
      inputs: walkRight,
      expected: [],
    },
    {
      name: 'walking right crosses it for any',
      rule: { trigger: line(upwards, 'any') },
      inputs: walkRight,
      expected: ['cross@2.5#p1'],
    },
    {
      name: 'walking left crosses it right-to-left',
      rule: { trigger: line(upwards, 'right-to-left') },
      inputs: walkLeft,
      expected: ['cross@2.5#p1'],
    },
    {
      name: 'walking left does not cross it left-to-right',
      rule: { trigger: line(upwards, 'left-to-right') },
      inputs: walkLeft,
      expected: [],
    },
    {
      name: 'walking left crosses it for any',
      rule: { trigger: line(upwards, 'any') },
      inputs: walkLeft,
      expected: ['cross@2.5#p1'],
    },
    {
      name: 'walking down crosses a rightward line left-to-right (its left is above)',
      rule: { trigger: line(rightwards, 'left-to-right') },
      inputs: walkDown,
      expected: ['cross@2.5#p1'],
    },
    {
      name: 'walking down does not cross a rightward line right-to-left',
      rule: { trigger: line(rightwards, 'right-to-left') },
      inputs: walkDown,
      expected: [],
    },
    {
      name: 'crossing the line’s extension, beyond its end, does not fire',
      rule: { trigger: line({ from: [0.5, 0.45], to: [0.5, 0.1] }, 'any') },
      inputs: walkRight,
      expected: [],
    },
    {
      name: 'stopping on the line and going on counts once',
      rule: { trigger: line(upwards, 'any') },
      inputs: frames(0, 5, (k) => [{ id: 'p1', at: [[0.4, 0.5, 0.5, 0.6, 0.7][k]!, 0.5] }]),
      expected: ['cross@1.5#p1'],
    },
    {
      name: 'touching the line and going back does not cross it',
      rule: { trigger: line(upwards, 'any') },
      inputs: frames(0, 3, (k) => [{ id: 'p1', at: [[0.4, 0.5, 0.4][k]!, 0.5] }]),
      expected: [],
    },
    {
      name: 'back and forth: each crossing fires (cooldown 0)',
      rule: { trigger: line(upwards, 'any'), cooldownSeconds: 0 },
      inputs: frames(0, 4, (k) => [{ id: 'p1', at: [[0.4, 0.6, 0.4, 0.6][k]!, 0.5] }]),
      expected: ['cross@0.5#p1', 'cross@1#p1', 'cross@1.5#p1'],
    },
  ]);
});

describe('cooldown', () => {
  // p1 goes in and out of the zone every second.
  const flapping = frames(0, 30, (k) => [{ id: 'p1', at: [k % 2 === 0 ? 0.5 : 0.3, 0.6] }]);
  table([
    {
      name: 'per track: re-entering within the cooldown is quiet, and fires again after it',
      rule: { trigger: zone('enter'), cooldownSeconds: 5 },
      inputs: flapping,
      expected: ['enter@0#p1', 'enter@5#p1', 'enter@10#p1'],
    },
    {
      name: 'without cooldown every entry fires',
      rule: { trigger: zone('enter'), cooldownSeconds: 0 },
      inputs: flapping.slice(0, 6),
      expected: ['enter@0#p1', 'enter@1#p1', 'enter@2#p1'],
    },
    {
      name: 'another track is not cooled down by the first',
      rule: { trigger: zone('enter'), cooldownSeconds: 60 },
      inputs: frames(0, 4, (k) => [
        { id: 'p1', at: [0.5, 0.6] },
        { id: 'p2', at: [k < 2 ? 0.3 : 0.5, 0.6] },
      ]),
      expected: ['enter@0#p1', 'enter@1#p2'],
    },
    {
      name: 'an inside stay that began during the cooldown fires when it ends, if still inside',
      rule: { trigger: zone('inside'), cooldownSeconds: 3 },
      // inside 0–0.5 s, out at 1 s, inside again from 1.5 s on
      inputs: frames(0, 10, (k) => [{ id: 'p1', at: [k === 2 ? 0.3 : 0.5, 0.6] }]),
      expected: ['inside@0#p1', 'inside@3#p1'],
    },
    {
      name: 'count rules cool down per camera: a crowd re-forming within the cooldown waits for its end',
      rule: { trigger: { type: 'anywhere' }, minCount: 2, cooldownSeconds: 3 },
      inputs: frames(0, 10, (k) => [
        { id: 'a', at: [0.5, 0.5] },
        ...(k === 2 ? [] : [{ id: `b${k > 2 ? 2 : 1}`, at: [0.6, 0.6] } as Thing]),
      ]),
      expected: ['count@0#a+b1', 'count@3#a+b2'],
    },
  ]);
});

describe('schedule gates decisions, not state', () => {
  // Friday 10 January 2025; London is on GMT (UTC+0).
  const fri = (hh: number, mm: number) => Date.UTC(2025, 0, 10, hh, mm);
  const at = (t: number, id: string, x = 0.5): RuleInput => frame(t, [{ id, at: [x, 0.6] }]);
  const night = { timeZone: 'Europe/London', days: ['fri' as const], from: '22:00', to: '06:00' };
  const cases: Array<{
    name: string;
    rule: Partial<RuleSpecInput> & Pick<RuleSpecInput, 'trigger'>;
    inputs: RuleInput[];
    expected: number[];
  }> = [
    {
      name: 'an entry before the window is dropped, and the person already inside does not enter again',
      rule: { trigger: zone('enter'), schedule: night },
      inputs: [at(fri(21, 59), 'p1'), at(fri(22, 1), 'p1'), at(fri(22, 2), 'p2')],
      expected: [fri(22, 2)],
    },
    {
      name: 'an inside stay that began before the window fires when it opens',
      rule: { trigger: zone('inside'), schedule: night },
      inputs: [at(fri(21, 58), 'p1'), at(fri(21, 59), 'p1'), at(fri(22, 0), 'p1'), at(fri(22, 1), 'p1')],
      expected: [fri(22, 0)],
    },
    {
      name: 'the window runs past midnight into Saturday and closes at 06:00',
      rule: { trigger: { type: 'anywhere' }, schedule: night, cooldownSeconds: 0 },
      inputs: [
        at(fri(23, 30), 'a'),
        at(fri(24 + 5, 59), 'b'),
        at(fri(24 + 6, 0), 'c'),
        at(fri(24 + 22, 30), 'd'), // Saturday night is not listed
      ],
      expected: [fri(23, 30), fri(29, 59)],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { decisions } = run(makeRule(c.rule), c.inputs);
      assert.deepEqual(
        decisions.map((d) => d.at),
        c.expected,
      );
    });
  }
});

describe('inputs that change nothing', () => {
  const rule = makeRule({ trigger: zone('enter') });
  const seeded = run(rule, walkAcross().slice(0, 7)).state; // p1 inside since 3 s
  const cases: Array<[string, Rule, RuleInput]> = [
    ['a frame of another camera', rule, frame(s(10), [{ id: 'p9', at: [0.5, 0.6] }], { cameraId: 'cam-2' })],
    ['a frame older than the last one', rule, frame(s(2), [{ id: 'p9', at: [0.5, 0.6] }])],
    ['the last frame again', rule, walkAcross()[6]!],
    [
      'a frame of another organisation',
      { ...rule, orgId: 'other' },
      frame(s(10), [{ id: 'p9', at: [0.5, 0.6] }]),
    ],
    ['a disabled rule', { ...rule, enabled: false }, frame(s(10), [{ id: 'p9', at: [0.5, 0.6] }])],
    ['a frame from an hour ahead of now', rule, frame(s(3600), [{ id: 'p9', at: [0.5, 0.6] }])],
    ['a TrackEnded of a class the rule ignores', rule, trackEnded(s(10), 'p1', [0.5, 0.6], 'car')],
  ];
  for (const [name, r, input] of cases) {
    test(`${name}: no decision, the same state`, () => {
      const result = evaluate(r, input, seeded, s(10));
      assert.deepEqual(result.decisions, []);
      assert.equal(result.state, seeded);
    });
  }
  test('the same inputs are decisions where they are new (so the table above can fail)', () => {
    const result = evaluate(rule, frame(s(10), [{ id: 'p9', at: [0.5, 0.6] }]), seeded, s(10));
    assert.deepEqual(brief(result.decisions), ['enter@10#p9']);
    assert.equal(evaluate(rule, walkAcross()[6]!, initialState(), s(10)).decisions.length, 1);
  });
});
