import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlertDecision } from './alert-decision.ts';
import { type Rule, RuleSpec } from './rule-schema.ts';
import { initialState, type RuleState, restoreState } from './rule-state.ts';
import {
  brief,
  frame,
  makeRule,
  run,
  square,
  T0,
  type Thing,
  timeOf,
  trackEnded,
  walkAcross,
} from './rules-engine.fixtures.ts';
import { evaluate, evaluateAll, type RuleInput, ruleStateKey } from './rules-engine.ts';

const s = (seconds: number) => T0 + seconds * 1000;

/** Every kind of rule, for the determinism and persistence checks. */
const rules: Rule[] = [
  makeRule({ trigger: { type: 'zone', polygon: square, on: 'enter' }, cooldownSeconds: 2 }, 'enter'),
  makeRule({ trigger: { type: 'zone', polygon: square, on: 'leave' } }, 'leave'),
  makeRule({ trigger: { type: 'zone', polygon: square, on: 'inside' }, dwellSeconds: 1 }, 'dwell'),
  makeRule({ trigger: { type: 'zone', polygon: square, on: 'inside' }, minCount: 2 }, 'count'),
  makeRule({ trigger: { type: 'line', from: [0.5, 0.9], to: [0.5, 0.1], direction: 'any' } }, 'line'),
  makeRule({ trigger: { type: 'anywhere' }, classes: ['person', 'car'], dwellSeconds: 2 }, 'anywhere'),
];

/** A busy minute on cam-1: people and cars wander through, tracks end, frames at 2 fps. */
function busyMinute(): RuleInput[] {
  const inputs: RuleInput[] = [];
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const walkers = Array.from({ length: 12 }, (_, i) => ({
    id: `t${i}`,
    cls: (i % 4 === 3 ? 'car' : 'person') as Thing['class'],
    start: i * 8,
    end: i * 8 + 30 + Math.floor(random() * 30),
    x: random() * 0.8 + 0.1,
    y: random() * 0.6 + 0.3,
    dx: (random() - 0.5) * 0.06,
    dy: (random() - 0.5) * 0.02,
  }));
  for (let k = 0; k < 120; k++) {
    const things: Thing[] = [];
    for (const w of walkers) {
      if (k < w.start || k > w.end) continue;
      const n = k - w.start;
      const x = Math.min(0.97, Math.max(0.03, w.x + w.dx * n));
      const y = Math.min(0.99, Math.max(0.11, w.y + w.dy * n));
      things.push({ id: w.id, class: w.cls, at: [x, y], score: 0.4 + random() * 0.6 });
    }
    things.push({ id: null, at: [0.5, 0.6] });
    inputs.push(frame(s(k / 2), things, { inferred: k % 4 !== 0 }));
    for (const w of walkers) if (k === w.end) inputs.push(trackEnded(s(k / 2), w.id, [0.5, 0.6], w.cls));
  }
  return inputs;
}

function runAll(inputs: readonly RuleInput[], states = new Map<string, RuleState>(), roundTrip = false) {
  const decisions: AlertDecision[] = [];
  let current = states;
  for (const input of inputs) {
    if (roundTrip) current = new Map(JSON.parse(JSON.stringify([...current])) as Array<[string, RuleState]>);
    const result = evaluateAll(rules, input, current, timeOf(input));
    current = result.states;
    decisions.push(...result.decisions);
  }
  return { states: current, decisions };
}

describe('determinism and idempotency', () => {
  const inputs = busyMinute();
  const first = runAll(inputs);

  test('the busy minute fires every kind of rule (so the checks below compare something)', () => {
    const fired = new Set(first.decisions.map((d) => d.ruleId));
    assert.deepEqual([...fired].sort(), ['anywhere', 'count', 'dwell', 'enter', 'leave', 'line']);
  });

  test('replaying the same events from the same state gives identical decisions and keys', () => {
    const again = runAll(inputs);
    assert.deepEqual(again.decisions, first.decisions);
    assert.deepEqual(again.states, first.states);
  });

  test('dedupe keys are unique and follow rule:camera:reason:track:at', () => {
    const keys = first.decisions.map((d) => d.dedupeKey);
    assert.equal(new Set(keys).size, keys.length);
    for (const d of first.decisions) {
      const expected =
        d.reason === 'count'
          ? `${d.ruleId}:cam-1:count:${d.at}`
          : `${d.ruleId}:cam-1:${d.reason}:${d.trackIds[0]}:${d.at}`;
      assert.equal(d.dedupeKey, expected);
    }
  });

  test('replaying already processed events onto the restored state decides nothing new', () => {
    const restored = new Map(JSON.parse(JSON.stringify([...first.states])) as Array<[string, RuleState]>);
    assert.deepEqual(runAll(inputs, restored).decisions, []);
  });

  test('a restart from a state saved halfway, replaying everything, repeats exactly the second half', () => {
    const half = Math.floor(inputs.length / 2);
    const before = runAll(inputs.slice(0, half));
    const after = runAll(inputs.slice(half), before.states);
    assert.deepEqual([...before.decisions, ...after.decisions], first.decisions);
    assert.ok(after.decisions.length > 0);
    const saved = new Map(JSON.parse(JSON.stringify([...before.states])) as Array<[string, RuleState]>);
    assert.deepEqual(runAll(inputs, saved).decisions, after.decisions);
  });

  test('restoreState takes back every state the engine wrote, and nothing else', () => {
    const saved = JSON.parse(JSON.stringify([...first.states])) as Array<[string, unknown]>;
    assert.ok(saved.length > 0);
    for (const [, state] of saved) assert.deepEqual(restoreState(state), state);
    assert.deepEqual(restoreState(initialState()), initialState());
    const some = saved[0]![1] as RuleState;
    for (const bad of [
      null,
      'state',
      { ...some, version: 2 },
      { ...some, tracks: 'many' },
      { ...some, tracks: [{ id: 't1' }] },
      { ...some, ended: [{ id: 5, at: 1 }] },
      { ...some, lastFrameAt: 'yesterday' },
      { ...some, count: null },
      { ...some, pendingEnds: undefined },
      { ...some, pendingEnds: [{ id: 'p1', at: 1 }] },
    ])
      assert.equal(restoreState(bad), null, JSON.stringify(bad).slice(0, 80));
  });

  test('state is JSON round-trippable: round-tripping before every event gives the same decisions', () => {
    assert.deepEqual(runAll(inputs, new Map(), true).decisions, first.decisions);
  });

  test('evaluate never mutates the state it is given', () => {
    const rule = rules[0]!;
    let state = initialState();
    for (const input of inputs) {
      const frozen = JSON.stringify(state);
      const next = evaluate(rule, input, state, timeOf(input)).state;
      assert.equal(JSON.stringify(state), frozen);
      state = next;
    }
  });
});

describe('bounded state', () => {
  test('10,000 distinct tracks passing by (never ended) leave only the last minute’s tracks', () => {
    const rule = makeRule({ trigger: { type: 'zone', polygon: square, on: 'enter' } });
    let state = initialState();
    let largest = 0;
    let decisions = 0;
    // Frame k shows tracks k..k+4: each walks x = 0.32, 0.37, 0.42 (in the zone), 0.47, 0.52 in five
    // frames. 10,004 tracks in 5,000 s; all but the last two reach the zone.
    for (let k = 0; k < 10_000; k++) {
      const things: Thing[] = [0, 1, 2, 3, 4].map((j) => ({
        id: `t${k + j}`,
        at: [0.32 + 0.05 * (4 - j), 0.6],
      }));
      const result = evaluate(rule, frame(s(k / 2), things), state, s(k / 2));
      state = result.state;
      decisions += result.decisions.length;
      largest = Math.max(largest, state.tracks.length);
    }
    assert.equal(decisions, 10_002);
    assert.ok(largest <= 125, `at most 2 fps × 60 s + 5 tracks, got ${largest}`);
    assert.ok(JSON.stringify(state).length < 40_000);
  });

  test('10,000 tracks that end are forgotten as well', () => {
    const rule = makeRule({ trigger: { type: 'zone', polygon: square, on: 'leave' } });
    let state = initialState();
    let leaves = 0;
    for (let k = 0; k < 10_000; k++) {
      const id = `t${k}`;
      for (const input of [frame(s(k / 2), [{ id, at: [0.5, 0.6] }]), trackEnded(s(k / 2), id, [0.5, 0.6])]) {
        const result = evaluate(rule, input, state, s(k / 2));
        state = result.state;
        leaves += result.decisions.length;
      }
    }
    assert.equal(leaves, 10_000);
    assert.equal(state.tracks.length, 0);
    assert.ok(state.ended.length <= 122, `ended tracks of the last minute only, got ${state.ended.length}`);
  });

  test('a crowd larger than maxTracks keeps the most recently seen', () => {
    const rule = makeRule({ trigger: { type: 'anywhere' } });
    const crowd = (from: number) =>
      Array.from({ length: 30 }, (_, j) => ({ id: `c${from + j}`, at: [0.5, 0.5] as const }));
    const { state } = run(rule, [frame(s(0), crowd(0)), frame(s(1), crowd(30))], initialState(), {
      maxTracks: 40,
    });
    assert.equal(state.tracks.length, 40);
    assert.deepEqual(
      state.tracks.map((t) => t.id),
      [
        ...Array.from({ length: 10 }, (_, j) => `c${j}`),
        ...Array.from({ length: 30 }, (_, j) => `c${30 + j}`),
      ],
    );
  });
});

describe('evaluateAll', () => {
  const cam2 = { ...makeRule({ trigger: { type: 'anywhere' }, cameras: ['cam-2'] }), id: 'cam2-only' };
  const both = makeRule({ trigger: { type: 'anywhere' }, cameras: ['cam-1', 'cam-2'] }, 'both');
  const enter = makeRule({ trigger: { type: 'zone', polygon: square, on: 'enter' } }, 'enter');

  test('evaluates the rules of the frame’s camera, in order, into a new map', () => {
    const states = new Map<string, RuleState>();
    const input = frame(s(0), [{ id: 'p1', at: [0.5, 0.6] }]);
    const result = evaluateAll([cam2, both, enter], input, states, s(0));
    assert.deepEqual(
      result.decisions.map((d) => `${d.ruleId}/${d.reason}`),
      ['both/inside', 'enter/enter'],
    );
    assert.deepEqual(
      [...result.states.keys()],
      [ruleStateKey('both', 'cam-1'), ruleStateKey('enter', 'cam-1')],
    );
    assert.equal(states.size, 0);
  });

  test('the same rule keeps separate state per camera', () => {
    let states = new Map<string, RuleState>();
    const seen: string[] = [];
    for (const input of [
      frame(s(0), [{ id: 'p1', at: [0.5, 0.6] }], { cameraId: 'cam-1' }),
      frame(s(0), [{ id: 'p1', at: [0.5, 0.6] }], { cameraId: 'cam-2' }),
      frame(s(1), [{ id: 'p1', at: [0.5, 0.6] }], { cameraId: 'cam-2' }),
    ]) {
      const result = evaluateAll([both], input, states, timeOf(input));
      states = result.states;
      seen.push(...result.decisions.map((d) => `${d.cameraId}:${brief([d])[0]}`));
    }
    assert.deepEqual(seen, ['cam-1:inside@0#p1', 'cam-2:inside@0#p1']);
  });
});

describe('decisions', () => {
  test('carry what the alert needs', () => {
    const rule = { ...makeRule({ trigger: { type: 'zone', polygon: square, on: 'enter' } }), id: 'rule-7' };
    const { decisions } = run(rule, walkAcross());
    assert.equal(decisions.length, 1);
    const d = decisions[0]!;
    assert.deepEqual(
      { ...d, box: d.box?.map((v) => Math.round(v * 1000) / 1000) },
      {
        ruleId: 'rule-7',
        cameraId: 'cam-1',
        deviceId: 'edge-1',
        orgId: 'acme',
        reason: 'enter',
        class: 'person',
        trackIds: ['p1'],
        score: 0.8,
        box: [0.4, 0.5, 0.04, 0.1],
        at: s(3),
        dedupeKey: `rule-7:cam-1:enter:p1:${s(3)}`,
      },
    );
  });

  test('a count names the most frequent class and the highest score, and no box', () => {
    const rule = makeRule({ trigger: { type: 'anywhere' }, classes: ['person', 'car'], minCount: 3 });
    const { decisions } = run(rule, [
      frame(s(0), [
        { id: 'c1', class: 'car', at: [0.2, 0.5], score: 0.6 },
        { id: 'p1', at: [0.4, 0.5], score: 0.7 },
        { id: 'p2', at: [0.6, 0.5], score: 0.95 },
      ]),
    ]);
    assert.deepEqual(
      decisions.map((d) => [d.reason, d.class, d.score, d.box, d.trackIds, d.dedupeKey]),
      [['count', 'person', 0.95, null, ['c1', 'p1', 'p2'], `r1:cam-1:count:${s(0)}`]],
    );
  });

  test('the rule parsed from stored JSON behaves like the original', () => {
    const { id, ...spec } = rules[3]!;
    const stored: Rule = { ...RuleSpec.parse(JSON.parse(JSON.stringify(spec))), id };
    const inputs = busyMinute();
    assert.deepEqual(run(stored, inputs).decisions, run(rules[3]!, inputs).decisions);
  });
});
