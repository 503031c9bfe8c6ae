import { parseArgs } from 'node:util';
import { IcebergError } from '@iceberg/common';
import { loadConfig, MotionConfig } from '@iceberg/config';
import { cocoClasses, type ObjectClass } from '@iceberg/contracts';
import { type AnalysedFrame, type AnalysisSummary, analyseInput } from '@iceberg/edge';
import { UsageError } from '../usage-error.ts';

function parseClasses(value: string): ObjectClass[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(cocoClasses as readonly string[]).includes(n))
      throw new UsageError(
        `--classes: "${n}" is not a class the model knows (e.g. person, car, truck, bus, bicycle, motorcycle)`,
      );
  }
  return names as ObjectClass[];
}

function positive(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, not "${value}"`);
  return n;
}

/** The JSON line of one frame: exactly {t, objects: [{class, score, box, trackId}]}. */
export function frameJson(result: AnalysedFrame): string {
  return JSON.stringify({
    t: Math.round(result.frame.pts * 1000) / 1000,
    objects: result.detection.objects.map((o) => ({
      class: o.class,
      score: Math.round(o.score * 1000) / 1000,
      box: o.box,
      trackId: o.trackId,
    })),
  });
}

function frameLine(result: AnalysedFrame): string {
  const counts = new Map<string, number>();
  for (const o of result.detection.objects) counts.set(o.class, (counts.get(o.class) ?? 0) + 1);
  const what = [...counts].map(([c, n]) => `${n} ${c}`).join(', ') || 'nothing';
  const ids = result.detection.objects.filter((o) => o.trackId).map((o) => `#${o.trackId!.split('-').pop()}`);
  return `${result.frame.pts.toFixed(1).padStart(7)}s  ${what}${ids.length ? `  [${ids.join(' ')}]` : ''}${result.inferred ? '' : '  (no motion)'}`;
}

function summaryText(s: AnalysisSummary): string {
  const classes = [...new Set([...Object.keys(s.objects), ...Object.keys(s.tracks)])] as ObjectClass[];
  const rows = classes.map(
    (c) =>
      `  ${c.padEnd(12)} ${String(s.objects[c] ?? 0).padStart(7)} detections ${String(s.tracks[c] ?? 0).padStart(5)} tracks`,
  );
  return [
    `${s.frames} frames analysed in ${s.seconds} s (${s.framesPerSecond} frames/s); inference ran on ${s.inferred}`,
    `inference ms p50 ${s.inferenceMs.p50} p95 ${s.inferenceMs.p95}`,
    ...rows,
  ].join('\n');
}

export async function detectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      fps: { type: 'string' },
      json: { type: 'boolean', default: false },
      annotate: { type: 'string' },
      classes: { type: 'string' },
      'min-score': { type: 'string' },
      motion: { type: 'boolean', default: false },
      threads: { type: 'string' },
      config: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('detect takes one INPUT (a file or a stream URL)');
  const input = positionals[0]!;
  const config = loadConfig({ file: values.config, env: process.env });
  const fps = positive('fps', values.fps, 0.1, 30) ?? 2;
  const threads = positive('threads', values.threads, 1, 64) ?? config.detector.threads;
  const minScore = positive('min-score', values['min-score'], 0.05, 1) ?? config.detector.minScore;
  const classes = values.classes ? parseClasses(values.classes) : config.detector.classes;
  if (values.annotate && !/\.(mp4|mkv|mov)$/i.test(values.annotate))
    throw new UsageError('--annotate writes an MP4: give a file name ending in .mp4');

  const out = process.stdout;
  const summary = await analyseInput({
    input,
    fps,
    classes,
    minScore,
    nmsIou: config.detector.nmsIou,
    motion: { ...MotionConfig.parse({}), enabled: values.motion },
    tracker: config.tracker,
    modelPath: config.detector.model,
    threads: Math.round(threads),
    ffmpegPath: config.ffmpegPath,
    annotate: values.annotate,
    onFrame: (result) => out.write(`${values.json ? frameJson(result) : frameLine(result)}\n`),
  }).catch((err: unknown) => {
    if (err instanceof IcebergError) throw err;
    throw new IcebergError('ICEBERG_ERR_CAMERA_INPUT', `cannot analyse ${input}: ${(err as Error).message}`, {
      cause: err,
    });
  });
  if (values.json) {
    const { input: _input, ...rest } = summary;
    out.write(`${JSON.stringify({ summary: rest })}\n`);
  } else {
    out.write(`${summaryText(summary)}\n`);
    if (values.annotate) out.write(`annotated video: ${values.annotate}\n`);
  }
  return 0;
}
