/**
 * The rules benchmark: `node --import tsx packages/rules/src/rules.bench.ts [--frames N]`.
 *
 * 1,000 rules spread over 100 cameras (10 per camera: zone enter / inside / leave, dwell, a count,
 * lines, anywhere, some with a schedule), a stream of detection frames with 5 objects each,
 * round-robin over the cameras at 2 fps per camera; objects walk about, and tracks are replaced
 * now and then so per-track state is created and forgotten as in real life.
 *
 * An event is one detection frame evaluated against all the rules of its camera (`evaluateAll`
 * with that camera's rules and state map, as a server instance that owns the camera would do);
 * a rule evaluation is one rule evaluated against one frame. Frames are built in chunks of 10,000
 * outside the timed part.
 */
import { availableParallelism, cpus } from 'node:os';
import type { DetectionFrameV1 } from '@iceberg/contracts';
import { type Rule, RuleSpec, type RuleSpecInput } from './rule-schema.ts';
import type { RuleState } from './rule-state.ts';
import { evaluateAll, type RuleInput } from './rules-engine.ts';

export interface RulesBenchOptions {
  cameras?: number;
  rulesPerCamera?: number;
  objectsPerFrame?: number;
  /** Frames evaluated in the timed part (after a warm-up of a tenth as many). */
  frames?: number;
}

export interface RulesBenchResult {
  rules: number;
  cameras: number;
  frames: number;
  objectsPerFrame: number;
  seconds: number;
  eventsPerSecond: number;
  ruleEvaluationsPerSecond: number;
  microsecondsPerEvent: number;
  decisions: number;
  /** Size of all states as JSON at the end, in bytes. */
  stateBytes: number;
}

/** A small deterministic PRNG (LCG), so every run sees the same stream. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 4_294_967_296;
  };
}

const T0 = Date.UTC(2025, 5, 2, 8, 0, 0);

function rulesFor(camera: string, n: number, random: () => number): Rule[] {
  const box = (x: number, y: number, w: number, h: number): [number, number][] => [
    [x, y],
    [x + w, y],
    [x + w, y + h],
    [x, y + h],
  ];
  const templates: Array<Omit<RuleSpecInput, 'name' | 'cameras'>> = [
    { classes: ['person'], trigger: { type: 'zone', polygon: box(0.1, 0.3, 0.4, 0.5), on: 'enter' } },
    { classes: ['person', 'car'], trigger: { type: 'zone', polygon: box(0.5, 0.2, 0.4, 0.6), on: 'inside' } },
    { classes: ['person'], trigger: { type: 'zone', polygon: box(0.2, 0.2, 0.6, 0.6), on: 'leave' } },
    {
      classes: ['person'],
      trigger: { type: 'zone', polygon: box(0.3, 0.3, 0.4, 0.4), on: 'inside' },
      dwellSeconds: 5,
    },
    { classes: ['person'], trigger: { type: 'anywhere' }, minCount: 3, cooldownSeconds: 30 },
    { classes: ['person'], trigger: { type: 'line', from: [0.5, 0.95], to: [0.5, 0.05], direction: 'any' } },
    {
      classes: ['car'],
      trigger: { type: 'line', from: [0.05, 0.6], to: [0.95, 0.6], direction: 'left-to-right' },
    },
    {
      classes: ['person'],
      trigger: { type: 'anywhere' },
      schedule: { timeZone: 'Europe/London', days: ['mon', 'tue', 'wed'], from: '22:00', to: '06:00' },
    },
    {
      classes: ['person', 'bicycle'],
      trigger: {
        type: 'zone',
        polygon: [
          [0.1, 0.9],
          [0.5, 0.4],
          [0.9, 0.9],
          [0.6, 0.95],
          [0.5, 0.7],
          [0.4, 0.95],
        ],
        on: 'enter',
      },
      schedule: { timeZone: 'America/New_York', days: ['mon', 'fri'], from: '07:00', to: '19:00' },
    },
    { classes: ['car', 'truck'], trigger: { type: 'anywhere' }, dwellSeconds: 20, minScore: 0.6 },
  ];
  return Array.from({ length: n }, (_, i) => {
    const template = templates[(i + Math.floor(random() * 3)) % templates.length]!;
    const spec = RuleSpec.parse({ name: `rule ${i} on ${camera}`, cameras: [camera], ...template });
    return { ...spec, id: `${camera}-r${i}` };
  });
}

interface Walker {
  id: string;
  class: 'person' | 'car';
  x: number;
  y: number;
  dx: number;
  dy: number;
}

/** Detection frames round-robin over the cameras, built a chunk at a time (outside the timing). */
function frameStream(
  cameras: string[],
  objects: number,
  random: () => number,
): (count: number) => RuleInput[] {
  let nextTrack = 0;
  let i = 0;
  const walker = (camera: string): Walker => ({
    id: `${camera}-t${nextTrack++}`,
    class: random() < 0.8 ? 'person' : 'car',
    x: 0.1 + random() * 0.8,
    y: 0.2 + random() * 0.75,
    dx: (random() - 0.5) * 0.04,
    dy: (random() - 0.5) * 0.02,
  });
  const walkers = new Map(cameras.map((c) => [c, Array.from({ length: objects }, () => walker(c))]));
  return (count) => {
    const inputs: RuleInput[] = [];
    for (const end = i + count; i < end; i++) {
      const camera = cameras[i % cameras.length]!;
      const round = Math.floor(i / cameras.length);
      const list = walkers.get(camera)!;
      for (let k = 0; k < list.length; k++) {
        let w = list[k]!;
        w.x += w.dx;
        w.y += w.dy;
        if (w.x < 0.05 || w.x > 0.95 || w.y < 0.15 || w.y > 0.99 || random() < 0.01) {
          w = walker(camera); // left the picture, or lost by the tracker: a new track
          list[k] = w;
        }
      }
      const frame: DetectionFrameV1 = {
        schema: 'detection.v1',
        orgId: 'acme',
        deviceId: `edge-${Math.floor((i % cameras.length) / 4)}`,
        cameraId: camera,
        seq: round,
        capturedAt: T0 + round * 500 + (i % cameras.length),
        frame: { width: 1280, height: 720 },
        inferred: round % 3 !== 0,
        inferenceMs: null,
        objects: list.map((w) => ({
          trackId: w.id,
          class: w.class,
          score: 0.45 + random() * 0.55,
          box: [w.x - 0.03, w.y - 0.12, 0.06, 0.12],
        })),
      };
      inputs.push({ kind: 'detections', frame });
    }
    return inputs;
  };
}

export function benchRules(options: RulesBenchOptions = {}): RulesBenchResult {
  const cameraCount = options.cameras ?? 100;
  const rulesPerCamera = options.rulesPerCamera ?? 10;
  const objectsPerFrame = options.objectsPerFrame ?? 5;
  const frames = options.frames ?? 200_000;
  const warmUp = Math.floor(frames / 10);
  const random = prng(42);
  const cameras = Array.from({ length: cameraCount }, (_, i) => `cam-${i}`);
  const rulesByCamera = new Map(cameras.map((c) => [c, rulesFor(c, rulesPerCamera, random)]));
  const statesByCamera = new Map(cameras.map((c) => [c, new Map<string, RuleState>()]));
  const nextFrames = frameStream(cameras, objectsPerFrame, random);

  let decisions = 0;
  const step = (input: RuleInput): number => {
    const camera = input.kind === 'detections' ? input.frame.cameraId : input.event.cameraId;
    const result = evaluateAll(
      rulesByCamera.get(camera)!,
      input,
      statesByCamera.get(camera)!,
      input.kind === 'detections' ? input.frame.capturedAt : input.event.at,
    );
    statesByCamera.set(camera, result.states);
    return result.decisions.length;
  };
  for (const input of nextFrames(warmUp)) step(input);
  let nanoseconds = 0n;
  for (let done = 0; done < frames; ) {
    const chunk = nextFrames(Math.min(10_000, frames - done));
    const started = process.hrtime.bigint();
    for (const input of chunk) decisions += step(input);
    nanoseconds += process.hrtime.bigint() - started;
    done += chunk.length;
  }
  const seconds = Number(nanoseconds) / 1e9;

  let stateBytes = 0;
  for (const states of statesByCamera.values()) stateBytes += JSON.stringify([...states]).length;
  return {
    rules: cameraCount * rulesPerCamera,
    cameras: cameraCount,
    frames,
    objectsPerFrame,
    seconds,
    eventsPerSecond: frames / seconds,
    ruleEvaluationsPerSecond: (frames * rulesPerCamera) / seconds,
    microsecondsPerEvent: (seconds * 1e6) / frames,
    decisions,
    stateBytes,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--frames');
  const frames = at > 0 ? Number(process.argv[at + 1]) : undefined;
  const result = benchRules(frames ? { frames } : {});
  const n = (v: number) => Math.round(v).toLocaleString('en-GB');
  process.stdout.write(
    [
      `rules benchmark on ${cpus()[0]?.model ?? 'unknown CPU'} (${availableParallelism()} cores), Node ${process.version}, one thread`,
      `  ${n(result.rules)} rules over ${result.cameras} cameras, ${n(result.frames)} frames of ${result.objectsPerFrame} objects in ${result.seconds.toFixed(2)} s`,
      `  events/s (a frame against all rules of its camera): ${n(result.eventsPerSecond)}  (${result.microsecondsPerEvent.toFixed(1)} µs each)`,
      `  rule evaluations/s: ${n(result.ruleEvaluationsPerSecond)}`,
      `  decisions: ${n(result.decisions)}; state of all (rule, camera) pairs at the end: ${n(result.stateBytes / 1024)} KiB of JSON`,
      '',
    ].join('\n'),
  );
}
