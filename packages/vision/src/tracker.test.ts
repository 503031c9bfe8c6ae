import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ObjectClass } from '@iceberg/contracts';
import { type TrackedObject, Tracker, type TrackerStep } from './tracker.ts';
import type { Detection, NormBox } from './types.ts';

/** A deterministic pseudo-random sequence, so that "realistic" jitter is the same on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const det = (cls: ObjectClass, box: NormBox, score = 0.8): Detection => ({
  classId: 0,
  class: cls,
  score,
  box,
});

const centred = (cx: number, cy: number, w: number, h: number): NormBox => [cx - w / 2, cy - h / 2, w, h];

interface Walk {
  /** Start centre, normalised. */
  from: [number, number];
  /** Speed in widths (x) and heights (y) per second. */
  speed: [number, number];
  size: [number, number];
  /** Size change per second, as a factor (1.1 = grows 10% a second, walking towards the camera). */
  growth?: number;
}

/**
 * Detections of one walking object at the given times: the stride varies ±25% from frame to frame and the
 * detector's box jitters by ±8% of the object's size, as NanoDet's boxes do on real footage.
 */
function walk(w: Walk, times: number[], seed: number): Detection[] {
  const rand = random(seed);
  let [cx, cy] = w.from;
  let [bw, bh] = w.size;
  return times.map((at, i) => {
    if (i > 0) {
      const dt = (at - times[i - 1]!) / 1000;
      const stride = 0.75 + rand() * 0.5;
      cx += w.speed[0] * bw * dt * stride;
      cy += w.speed[1] * bh * dt * stride;
      const g = (w.growth ?? 1) ** dt;
      bw *= g;
      bh *= g;
    }
    const j = () => (rand() - 0.5) * 0.16;
    return det('person', centred(cx + j() * bw, cy + j() * bh, bw * (1 + j()), bh * (1 + j())));
  });
}

const every = (ms: number, n: number, start = 1_000_000): number[] =>
  Array.from({ length: n }, (_, i) => start + i * ms);

/** Runs frames through a tracker; returns every step. */
function run(tracker: Tracker, frames: Array<{ at: number; dets: Detection[] }>): TrackerStep[] {
  return frames.map((f) => tracker.update(f.dets, f.at));
}

const ids = (steps: TrackerStep[]): Set<string> =>
  new Set(steps.flatMap((s) => s.objects.flatMap((o: TrackedObject) => (o.trackId ? [o.trackId] : []))));

describe('tracker: one walking person at 2 fps', () => {
  const irregular = [
    0, 480, 1010, 1450, 2100, 2500, 3020, 3380, 4000, 4520, 4900, 5500, 6010, 6400, 7000, 7480, 8100, 8500,
    8990, 9600,
  ].map((t) => 1_000_000 + t);
  const cases: Array<{ name: string; walk: Walk; times?: number[] }> = [
    {
      name: 'slow, left to right (0.5 width a frame)',
      walk: { from: [0.05, 0.5], speed: [1, 0], size: [0.04, 0.14] },
    },
    { name: 'normal pace (1 width a frame)', walk: { from: [0.05, 0.5], speed: [2, 0], size: [0.04, 0.14] } },
    { name: 'brisk (1.5 widths a frame)', walk: { from: [0.03, 0.5], speed: [3, 0], size: [0.03, 0.1] } },
    { name: 'right to left', walk: { from: [0.9, 0.4], speed: [-2, 0], size: [0.04, 0.14] } },
    {
      name: 'diagonally towards the camera, growing',
      walk: { from: [0.2, 0.2], speed: [1.2, 0.3], size: [0.03, 0.1], growth: 1.08 },
    },
    {
      name: 'irregular frame times (0.36–0.65 s)',
      walk: { from: [0.05, 0.5], speed: [2, 0], size: [0.04, 0.14] },
      times: irregular,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: one id over 20 frames, published from the third`, () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        const times = c.times ?? every(500, 20);
        const dets = walk(c.walk, times, seed);
        const tracker = new Tracker({ idPrefix: 'cam' });
        const steps = run(
          tracker,
          times.map((at, i) => ({ at, dets: [dets[i]!] })),
        );
        assert.deepEqual([...ids(steps)], ['cam-1'], `seed ${seed}`);
        assert.deepEqual(
          steps.map((s) => s.objects[0]?.trackId ?? null),
          [null, null, ...Array<string>(18).fill('cam-1')],
          `seed ${seed}`,
        );
        assert.equal(steps.flatMap((s) => s.started).length, 1);
        assert.equal(steps.flatMap((s) => s.ended).length, 0);
      }
    });
  }
});

describe('tracker: two people crossing paths at 2 fps', () => {
  const cases: Array<{ name: string; hideB: number[]; dy: number }> = [
    { name: 'both always detected, same height', hideB: [], dy: 0 },
    { name: 'both always detected, one slightly behind', hideB: [], dy: 0.03 },
    { name: 'the one behind hidden for one frame where they overlap', hideB: [9], dy: 0.03 },
    { name: 'the one behind hidden for two frames where they overlap', hideB: [9, 10], dy: 0.03 },
  ];
  for (const c of cases) {
    test(`${c.name}: each keeps its own id (no swap)`, () => {
      for (const seed of [11, 12, 13, 14, 15]) {
        const times = every(500, 20);
        // A walks right, B walks left; they meet around frame 9–10.
        const a = walk({ from: [0.1, 0.5], speed: [2, 0], size: [0.045, 0.15] }, times, seed);
        const b = walk({ from: [0.9, 0.5 + c.dy], speed: [-2, 0], size: [0.045, 0.15] }, times, seed + 100);
        const tracker = new Tracker({ idPrefix: 'cam' });
        const seen: Array<{ a: string | null; b: string | null }> = [];
        times.forEach((at, i) => {
          const dets = c.hideB.includes(i) ? [a[i]!] : [a[i]!, b[i]!];
          const step = tracker.update(dets, at);
          seen.push({
            a: step.objects[0]?.trackId ?? null,
            b: c.hideB.includes(i) ? null : (step.objects[1]?.trackId ?? null),
          });
        });
        const idsA = new Set(seen.flatMap((s) => (s.a ? [s.a] : [])));
        const idsB = new Set(seen.flatMap((s) => (s.b ? [s.b] : [])));
        assert.equal(idsA.size, 1, `seed ${seed}: A has one id, got ${[...idsA]}`);
        assert.equal(idsB.size, 1, `seed ${seed}: B has one id, got ${[...idsB]}`);
        assert.notDeepEqual([...idsA], [...idsB]);
        assert.ok(
          seen.slice(2).every((s, k) => s.a !== null && (s.b !== null || c.hideB.includes(k + 2))),
          `seed ${seed}: both published from the third frame on`,
        );
      }
    });
  }
});

describe('tracker: life cycle', () => {
  const parked = centred(0.6, 0.7, 0.2, 0.12);

  test('a detection missed for one frame neither ends nor renumbers the track; it is not published while missed', () => {
    const times = every(500, 10);
    const dets = walk({ from: [0.1, 0.5], speed: [2, 0], size: [0.04, 0.14] }, times, 7);
    const tracker = new Tracker({ idPrefix: 'cam' });
    const steps = times.map((at, i) => tracker.update(i === 5 ? [] : [dets[i]!], at));
    assert.deepEqual(
      steps.map((s) => s.objects.map((o) => o.trackId)),
      [[null], [null], ['cam-1'], ['cam-1'], ['cam-1'], [], ['cam-1'], ['cam-1'], ['cam-1'], ['cam-1']],
    );
    assert.equal(steps.flatMap((s) => s.ended).length, 0);
    assert.equal(tracker.active()[0]?.hits, 9);
  });

  const falsePositives: Array<{ name: string; minHits: number; frames: number; getsId: boolean }> = [
    { name: 'one frame, minHits 3', minHits: 3, frames: 1, getsId: false },
    { name: 'two frames, minHits 3', minHits: 3, frames: 2, getsId: false },
    { name: 'three frames, minHits 3', minHits: 3, frames: 3, getsId: true },
    { name: 'one frame, minHits 1', minHits: 1, frames: 1, getsId: true },
  ];
  for (const c of falsePositives) {
    test(`a flicker lasting ${c.name} ${c.getsId ? 'gets' : 'never gets'} an id`, () => {
      const tracker = new Tracker({ idPrefix: 'cam', minHits: c.minHits });
      const times = every(500, 12);
      const steps = times.map((at, i) =>
        tracker.update(i < c.frames ? [det('person', [0.3, 0.3, 0.05, 0.15])] : [], at),
      );
      const all = steps.flatMap((s) => [...s.started, ...s.ended]);
      assert.equal(ids(steps).size, c.getsId ? 1 : 0);
      assert.equal(all.length, c.getsId ? 2 : 0, 'started and ended once, or never');
    });
  }

  test('carry() for 60 s keeps a parked car present, under its id, and it turns stationary once', () => {
    const tracker = new Tracker({ idPrefix: 'cam' });
    const start = 1_000_000;
    for (let i = 0; i < 3; i++) tracker.update([det('car', parked, 0.9)], start + i * 500);
    const carried: TrackerStep[] = [];
    for (let t = start + 1500; t <= start + 61_500; t += 500) carried.push(tracker.carry(t));
    assert.ok(
      carried.every((s) => s.objects.length === 1 && s.objects[0]!.trackId === 'cam-1'),
      'the car is listed under its id in every carried frame',
    );
    assert.ok(
      carried.every((s) => s.objects[0]!.class === 'car' && s.objects[0]!.box.join() === parked.join()),
      'as a car, at its last box',
    );
    assert.ok(
      carried.every((s) => s.ended.length === 0 && s.started.length === 0),
      'nothing starts or ends',
    );
    const flips = carried.filter((s) => s.updated.length > 0);
    assert.equal(flips.length, 1, 'stationary is reported once');
    assert.equal(flips[0]!.at, start + 10_000);
    assert.equal(flips[0]!.updated[0]!.stationary, true);
    // Inference runs again and misses the car once: carried time did not count, so it is not ended.
    const miss = tracker.update([], start + 62_000);
    assert.equal(miss.ended.length, 0);
    const back = tracker.update([det('car', parked, 0.85)], start + 62_500);
    assert.equal(back.objects[0]!.trackId, 'cam-1');
    assert.equal(back.updated[0]!.stationary, true);
  });

  test('a confirmed track ends after maxAgeMs unmatched, listed in `ended` exactly once', () => {
    const tracker = new Tracker({ idPrefix: 'cam', maxAgeMs: 3000 });
    const times = every(500, 20);
    const lastSeen = times[4]!;
    const steps = times.map((at, i) =>
      tracker.update(i <= 4 ? [det('person', [0.3, 0.3, 0.05, 0.15])] : [], at),
    );
    const ended = steps.flatMap((s) => s.ended.map((t) => ({ at: s.at, t })));
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.at, lastSeen + 3000);
    assert.equal(ended[0]!.t.id, 'cam-1');
    assert.equal(ended[0]!.t.lastSeenAt, lastSeen);
    assert.equal(ended[0]!.t.hits, 5);
    assert.deepEqual(tracker.active(), []);
  });

  test('a stationary object keeps its id through detection gaps up to stationaryMaxAgeMs', () => {
    const tracker = new Tracker({ idPrefix: 'cam', maxAgeMs: 3000, stationaryMaxAgeMs: 30_000 });
    const s = 1_000_000;
    const seen = (at: number) => tracker.update([det('car', parked, 0.7)], at);
    for (let t = s; t <= s + 12_000; t += 500) seen(t); // parked: stationary after 10 s
    const gap1 = [];
    for (let t = s + 12_500; t < s + 25_000; t += 500) gap1.push(tracker.update([], t)); // missed 12.5 s
    assert.deepEqual(
      gap1.flatMap((x) => x.ended),
      [],
    );
    assert.equal(seen(s + 25_000).objects[0]!.trackId, 'cam-1', 'the parked car is still cam-1');
    const gap2 = [];
    for (let t = s + 25_500; t <= s + 60_000; t += 500) gap2.push(tracker.update([], t));
    const ended = gap2.filter((x) => x.ended.length > 0);
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.at, s + 55_000, 'ends 30 s after it was last seen');
  });

  test('carried time does not count towards maxAgeMs', () => {
    // (stationaryAfterMs is long here so that the longer age of stationary tracks does not apply)
    const tracker = new Tracker({ idPrefix: 'cam', maxAgeMs: 3000, stationaryAfterMs: 600_000 });
    const s = 1_000_000;
    for (let i = 0; i < 3; i++) tracker.update([det('person', [0.3, 0.3, 0.05, 0.15])], s + i * 500);
    const missed = [s + 1500, s + 2000, s + 2500, s + 3000].map((at) => tracker.update([], at)); // 2 s missed
    for (let t = s + 3500; t <= s + 63_000; t += 500) tracker.carry(t);
    const a = tracker.update([], s + 63_500); // 2.5 s of analysed time missed
    const b = tracker.update([], s + 64_000); // 3 s
    assert.deepEqual(
      [...missed, a].map((x) => x.ended.length),
      [0, 0, 0, 0, 0],
    );
    assert.equal(b.ended.length, 1);
  });

  test('ids are dense, in order of confirmation, and never reused (not even after endAll)', () => {
    const tracker = new Tracker({ idPrefix: 'front' });
    const box: NormBox = [0.4, 0.4, 0.05, 0.15];
    const times = every(500, 24);
    const got: string[] = [];
    times.forEach((at, i) => {
      // present in frames 0–4, gone 5–14 (ends), back at the same place 15–19; a flicker elsewhere at 21
      const present = i <= 4 || (i >= 15 && i <= 19);
      const flicker = i === 21 ? [det('person', [0.8, 0.1, 0.05, 0.15])] : [];
      const step = tracker.update(present ? [det('person', box), ...flicker] : flicker, at);
      for (const t of step.started) got.push(t.id);
    });
    const ended = tracker.endAll(times.at(-1)! + 500);
    assert.deepEqual(
      got,
      ['front-1', 'front-2'],
      'the object that came back after its track ended has a new id',
    );
    assert.deepEqual(
      ended.map((t) => t.id),
      ['front-2'],
    );
    for (let i = 0; i < 3; i++)
      tracker.update([det('car', [0.1, 0.1, 0.2, 0.1])], times.at(-1)! + 1000 + i * 500);
    assert.deepEqual(
      tracker.active().map((t) => t.id),
      ['front-3'],
    );
  });

  test('an impossible jump is a new object: a person across the frame does not take over the track', () => {
    const tracker = new Tracker({ idPrefix: 'cam' });
    const times = every(500, 8);
    for (let i = 0; i < 4; i++)
      tracker.update([det('person', centred(0.2 + i * 0.02, 0.5, 0.05, 0.15))], times[i]!);
    const steps = times
      .slice(4)
      .map((at) => tracker.update([det('person', centred(0.8, 0.5, 0.05, 0.15))], at));
    assert.deepEqual(
      steps.map((s) => s.objects[0]!.trackId),
      [null, null, 'cam-2', 'cam-2'],
    );
    assert.equal(tracker.active().find((t) => t.id === 'cam-1')?.hits, 4, 'the first person only coasts');
  });

  test('a detection of another class never continues a track, even in the same place', () => {
    const tracker = new Tracker({ idPrefix: 'cam' });
    const box: NormBox = [0.4, 0.4, 0.1, 0.2];
    const times = every(500, 6);
    for (let i = 0; i < 3; i++) tracker.update([det('person', box)], times[i]!);
    const step = tracker.update([det('dog', box)], times[3]!);
    assert.deepEqual(step.objects, [{ trackId: null, class: 'dog', score: 0.8, box }]);
    assert.equal(tracker.active()[0]!.class, 'person');
    assert.equal(tracker.active()[0]!.hits, 3, 'the person track coasts');
  });

  test('car, truck and bus are one family: a truck detection continues a car track, which stays a car', () => {
    const tracker = new Tracker({ idPrefix: 'cam' });
    const box: NormBox = [0.4, 0.4, 0.2, 0.1];
    const times = every(500, 10);
    const classes: ObjectClass[] = ['car', 'car', 'car', 'truck', 'car', 'bus', 'car'];
    const steps = classes.map((c, i) => tracker.update([det(c, box, c === 'car' ? 0.8 : 0.6)], times[i]!));
    assert.deepEqual(
      steps.slice(2).map((s) => [s.objects[0]!.trackId, s.objects[0]!.class]),
      [
        ['cam-1', 'car'],
        ['cam-1', 'car'],
        ['cam-1', 'car'],
        ['cam-1', 'car'],
        ['cam-1', 'car'],
      ],
    );
    const strict = new Tracker({ idPrefix: 'cam', matchClassFamilies: false });
    for (const [i, c] of classes.slice(0, 4).entries()) strict.update([det(c, box)], times[i]!);
    assert.equal(strict.active()[0]!.hits, 3, 'without families the truck does not continue the car');
  });

  test('the class is the best-voted one: mostly-truck detections make a truck', () => {
    const tracker = new Tracker({ idPrefix: 'cam' });
    const box: NormBox = [0.4, 0.4, 0.2, 0.1];
    const classes: ObjectClass[] = ['car', 'truck', 'truck', 'truck', 'truck'];
    const steps = classes.map((c, i) => tracker.update([det(c, box)], 1_000_000 + i * 500));
    assert.equal(steps.at(-1)!.objects[0]!.class, 'truck');
    assert.equal(steps[2]!.started[0]!.class, 'truck');
  });

  test('stationary turns on after standing still for stationaryAfterMs and off when walking away', () => {
    const tracker = new Tracker({ idPrefix: 'cam', stationaryAfterMs: 10_000, stationaryMaxMove: 0.02 });
    const rand = random(3);
    const times = every(500, 40);
    const flags = times.map((at, i) => {
      const cx = i < 30 ? 0.5 : 0.5 + (i - 29) * 0.05; // stands 15 s, then walks
      const jitter = (rand() - 0.5) * 0.004;
      return tracker.update([det('person', centred(cx + jitter, 0.5, 0.05, 0.15))], at).updated[0]
        ?.stationary;
    });
    assert.equal(flags.indexOf(true), 20, 'stationary 10 s after first seen');
    assert.ok(
      flags.slice(20, 30).every((f) => f === true),
      'stays stationary while standing',
    );
    assert.ok(
      flags.slice(31).every((f) => f === false),
      'moving again',
    );
  });

  test('unconfirmed detections are published without an id; invalid boxes are ignored; boxes are clipped', () => {
    const tracker = new Tracker({ idPrefix: 'cam' });
    const step = tracker.update(
      [
        det('person', [Number.NaN, 0.1, 0.1, 0.1]),
        det('person', [0.95, -0.05, 0.1, 0.2]),
        det('car', [2, 2, 0.1, 0.1]),
      ],
      1000,
    );
    assert.equal(step.objects.length, 1);
    assert.equal(step.objects[0]!.trackId, null);
    const [x, y, w, h] = step.objects[0]!.box;
    assert.ok(
      Math.abs(x - 0.95) < 1e-9 && y === 0 && Math.abs(w - 0.05) < 1e-9 && Math.abs(h - 0.15) < 1e-9,
      `clipped to the frame: ${[x, y, w, h]}`,
    );
  });
});
