/**
 * Real recordings for the server's tests: fMP4 segments cut by ffmpeg from the sample footage the
 * way the device's recorder cuts them, filed where it files them, and the ffmpeg/ffprobe checks
 * the tests make on what the server plays back and exports.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RecordingSegmentV1 } from '@iceberg/contracts';
import { segmentRef } from '@iceberg/edge';

export const root = process.env.ICEBERG_ROOT ?? join(import.meta.dirname, '../../..');
export const sample = join(root, 'assets/samples/vtest.mp4');
/** The sample's frame rate. */
export const FPS = 10;

/**
 * Cuts `seconds` of the sample from `offset` into 10 s fragmented-MP4 segments, files them under
 * `dataDir` and returns them as the device's index reports them, the first starting at `startedAt`.
 */
export function cutSegments(
  dataDir: string,
  o: { org: string; camera: string; startedAt: number; offset?: number; seconds: number },
): RecordingSegmentV1[] {
  const work = mkdtempSync(join(tmpdir(), 'iceberg-rec-cut-'));
  execFileSync('ffmpeg', [
    ...[
      '-hide_banner',
      '-loglevel',
      'error',
      '-ss',
      String(o.offset ?? 0),
      '-t',
      String(o.seconds),
      '-i',
      sample,
    ],
    ...['-map', '0:v', '-c', 'copy', '-f', 'segment', '-segment_time', '10', '-segment_format', 'mp4'],
    ...['-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof'],
    ...['-segment_list', join(work, 'list.csv'), '-segment_list_type', 'csv', join(work, 'seg%03d.mp4')],
  ]);
  const segments: RecordingSegmentV1[] = [];
  let at = o.startedAt;
  for (const line of readFileSync(join(work, 'list.csv'), 'utf8').trim().split('\n')) {
    const [name, start, end] = line.split(',') as [string, string, string];
    const durationMs = Math.round((Number(end) - Number(start)) * 1000);
    const path = segmentRef(o.org, o.camera, at);
    mkdirSync(dirname(join(dataDir, path)), { recursive: true });
    renameSync(join(work, name), join(dataDir, path));
    segments.push({
      segmentId: `${o.camera}:${at}`,
      startedAt: at,
      endedAt: at + durationMs,
      durationMs,
      bytes: readFileSync(join(dataDir, path)).length,
      path,
      reason: 'continuous',
      codec: 'h264',
      width: 768,
      height: 576,
    });
    at += durationMs;
  }
  rmSync(work, { recursive: true, force: true });
  return segments;
}

/** Frames ffmpeg decodes from `input` (a file or URL), in a child process (the server runs in this one). */
export async function decodedFrames(input: string): Promise<number> {
  const proc = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-i', input, '-map', '0:v', '-fps_mode', 'passthrough'],
      ...['-f', 'null', '-', '-progress', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const [code] = (await once(proc, 'close')) as [number | null];
  assert.equal(code, 0, err);
  return Number([...out.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1] ?? 0);
}

/** The duration ffprobe reads from a file's container, in seconds. */
export function probeDuration(file: string): number {
  return Number(
    execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], {
      encoding: 'utf8',
    }).trim(),
  );
}

/** Polls `fn` until it returns something truthy. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
