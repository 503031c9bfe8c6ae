/**
 * The vision benchmark: `npm run bench:vision` (about 2 minutes on a 2-core box).
 * Prints, from one run:
 *   1. bare inference: NanoDet-g on ONNX Runtime, ms p50/p95 at 1 and 2 threads, on real frames;
 *   2. the offline pipeline (file → ffmpeg → detector → tracker → JSON) in frames/s, next to the
 *      detector's own rate measured in the same run;
 *   3. CPU per camera of the edge agent: 4 cameras looping the sample at its native rate,
 *      detection at 2 fps with motion gating, on a busy scene and on a still one.
 * Results also go to artifacts/bench-vision.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus, MemoryBus } from '@iceberg/bus';
import { percentile, silentLogger } from '@iceberg/common';
import { loadConfig, MotionConfig, TrackerConfig } from '@iceberg/config';
import type { DetectionFrameV1 } from '@iceberg/contracts';
import { analyseInput, createEdgeAgent } from '@iceberg/edge';
import { type BgrFrame, OnnxDetector } from '@iceberg/vision';
import { measureCores } from './proc-cpu.ts';

const root = join(import.meta.dirname, '..');
const model = join(root, 'assets/models/nanodet-g.onnx');
const avi = join(root, 'assets/samples/vtest.avi');
const mp4 = join(root, 'assets/samples/vtest.mp4');
const classes = ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck'] as const;
const quick = process.argv.includes('--quick');
const r1 = (v: number) => Math.round(v * 10) / 10;
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: availableParallelism(),
};
const log = (line = '') => process.stdout.write(`${line}\n`);

function realFrames(count: number): BgrFrame[] {
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      avi,
      '-vf',
      'fps=2,scale=416:416',
      '-frames:v',
      String(count),
      '-pix_fmt',
      'bgr24',
      '-f',
      'rawvideo',
      'pipe:1',
    ],
    { maxBuffer: 1 << 28 },
  );
  const size = 416 * 416 * 3;
  return Array.from({ length: raw.length / size }, (_, i) => ({
    width: 416,
    height: 416,
    data: raw.subarray(i * size, (i + 1) * size),
  }));
}

async function bareInference(threads: number, frames: BgrFrame[], runs: number) {
  const detector = await OnnxDetector.create({
    modelPath: model,
    threads,
    classes,
    minScore: 0.5,
    nmsIou: 0.5,
  });
  for (let i = 0; i < 5; i++) await detector.detect(frames[i % frames.length]!);
  const run: number[] = [];
  const call: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await detector.detect(frames[i % frames.length]!);
    call.push(performance.now() - t0);
    run.push(r.inferenceMs);
  }
  await detector.close();
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    threads,
    runMsP50: r1(percentile(run, 50)),
    runMsP95: r1(percentile(run, 95)),
    callMsP50: r1(percentile(call, 50)),
    /** Inferences per second of the model alone (session.run), and of the whole detector call (pre + run + decode). */
    modelRate: r1(1000 / mean(run)),
    detectorRate: r1(1000 / mean(call)),
  };
}

async function pipelineRate(threads: number) {
  const summary = await analyseInput({
    input: avi,
    fps: 5,
    classes,
    minScore: 0.5,
    nmsIou: 0.5,
    motion: { ...MotionConfig.parse({}), enabled: false },
    tracker: TrackerConfig.parse({}),
    modelPath: model,
    threads,
    ffmpegPath: 'ffmpeg',
  });
  return {
    threads,
    frames: summary.frames,
    framesPerSecond: summary.framesPerSecond,
    inferenceMsP50: summary.inferenceMs.p50,
  };
}

async function agentCpu(label: string, input: string, cameras: number, seconds: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'iceberg-bench-'));
  const config = loadConfig({
    baseDir: root,
    overrides: {
      dataDir,
      cameras: Array.from({ length: cameras }, (_, i) => ({
        id: `cam-${i + 1}`,
        input,
        loop: true,
        realtime: true,
      })),
    },
  });
  const bus = new Bus(new MemoryBus());
  const frames: DetectionFrameV1[] = [];
  const latencies: number[] = [];
  let measuring = false;
  await bus.subscribe('detections', { group: 'bench' }, async (m) => {
    if (!measuring) return;
    frames.push(m);
    latencies.push(Date.now() - m.capturedAt);
  });
  const agent = await createEdgeAgent(config, { bus, logger: silentLogger() });
  await agent.start();
  await new Promise((r) => setTimeout(r, 5000)); // connect and settle
  const before = agent.schedulerStats;
  measuring = true;
  const { cores } = await measureCores(() => new Promise((r) => setTimeout(r, seconds * 1000)));
  measuring = false;
  const after = agent.schedulerStats;
  await agent.stop();
  await bus.close();
  const inferred = frames.filter((f) => f.inferred).length;
  return {
    scene: label,
    cameras,
    seconds,
    totalCores: Math.round(cores * 100) / 100,
    percentOfOneCorePerCamera: r1((cores * 100) / cameras),
    analysedFramesPerSecond: r1(frames.length / seconds),
    inferencesPerSecond: r1(inferred / seconds),
    gatedShare: frames.length ? Math.round((1 - inferred / frames.length) * 100) / 100 : 0,
    droppedFrames:
      after.dropped.superseded + after.dropped.stale - (before.dropped.superseded + before.dropped.stale),
    detectionLatencyMsP50: r1(percentile(latencies, 50)),
    detectionLatencyMsP95: r1(percentile(latencies, 95)),
    detectorLoad: Math.round(after.load * 100) / 100,
  };
}

log(`Iceberg vision benchmark — ${results.cpu}, ${results.cores} cores${quick ? ' (quick)' : ''}`);
const frames = realFrames(40);

log('\n1. Bare inference (NanoDet-g 416×416, ONNX Runtime CPU, real frames)');
const bare = [];
for (const threads of [1, 2]) {
  const b = await bareInference(threads, frames, quick ? 30 : 100);
  bare.push(b);
  log(
    `   ${threads} thread${threads > 1 ? 's' : ' '}: run p50 ${b.runMsP50} ms, p95 ${b.runMsP95} ms; whole detector call p50 ${b.callMsP50} ms → model ${b.modelRate}/s, detector ${b.detectorRate}/s`,
  );
}
results.bareInference = bare;

log(
  '\n2. Offline pipeline (vtest.avi at 5 fps: ffmpeg decode+scale → detector → tracker), vs. bare in this run',
);
log(
  '   (bare and pipeline measured alternately, 3 rounds each; medians, since a shared VM drifts from minute to minute)',
);
const pipe = [];
const median = (v: number[]) => percentile(v, 50);
for (const threads of [1, 2]) {
  const rounds = [];
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    const b = await bareInference(threads, frames, quick ? 30 : 60);
    const p = await pipelineRate(threads);
    rounds.push({
      modelRate: b.modelRate,
      detectorRate: b.detectorRate,
      pipelineRate: p.framesPerSecond,
      frames: p.frames,
    });
  }
  const modelRate = median(rounds.map((r) => r.modelRate));
  const detectorRate = median(rounds.map((r) => r.detectorRate));
  const pipelineFps = median(rounds.map((r) => r.pipelineRate));
  const entry = {
    threads,
    frames: rounds[0]!.frames,
    framesPerSecond: pipelineFps,
    modelRate,
    detectorRate,
    percentOfModelRate: r1((pipelineFps / modelRate) * 100),
    percentOfDetectorRate: r1((pipelineFps / detectorRate) * 100),
    rounds,
  };
  pipe.push(entry);
  log(
    `   ${threads} thread${threads > 1 ? 's' : ' '}: pipeline ${pipelineFps} frames/s; bare model ${modelRate}/s, whole detector call ${detectorRate}/s → pipeline = ${entry.percentOfModelRate}% of the bare model, ${entry.percentOfDetectorRate}% of the detector`,
  );
}
results.pipeline = pipe;

log(
  '\n3. Edge agent CPU: cameras looping the sample at native rate (768×576 H.264 10 fps), detect 2 fps, motion gating on',
);
const stillDir = mkdtempSync(join(tmpdir(), 'iceberg-still-'));
const still = join(stillDir, 'still.mp4');
execFileSync('ffmpeg', [
  '-v',
  'error',
  '-ss',
  '10',
  '-i',
  mp4,
  '-frames:v',
  '1',
  '-f',
  'image2',
  join(stillDir, 'still.png'),
]);
execFileSync('ffmpeg', [
  '-v',
  'error',
  '-loop',
  '1',
  '-framerate',
  '10',
  '-i',
  join(stillDir, 'still.png'),
  '-t',
  '20',
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-g',
  '10',
  '-pix_fmt',
  'yuv420p',
  still,
]);
const seconds = quick ? 10 : 30;
const agent = [];
const runs: Array<[string, string, number]> = [
  ['busy (people walking)', mp4, 4],
  ['still (nothing moves)', still, 4],
];
if (!quick) runs.push(['busy (people walking)', mp4, 8]);
for (const [label, input, cameras] of runs) {
  const a = await agentCpu(label, input, cameras, seconds);
  agent.push(a);
  log(
    `   ${label}: ${cameras} cameras use ${a.totalCores} cores in all = ${a.percentOfOneCorePerCamera}% of one core per camera; ${a.analysedFramesPerSecond} frames/s analysed, ${a.inferencesPerSecond} inferences/s (${Math.round(a.gatedShare * 100)}% gated), ${a.droppedFrames} dropped; detection latency p50 ${a.detectionLatencyMsP50} ms, p95 ${a.detectionLatencyMsP95} ms`,
  );
}
results.edgeAgent = agent;

mkdirSync(join(root, 'artifacts'), { recursive: true });
writeFileSync(join(root, 'artifacts/bench-vision.json'), `${JSON.stringify(results, null, 2)}\n`);
log('\nwritten: artifacts/bench-vision.json');
