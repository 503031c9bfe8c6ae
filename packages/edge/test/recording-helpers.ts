import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bus, MemoryBus } from '@iceberg/bus';
import { silentLogger } from '@iceberg/common';
import { IcebergConfig, type IcebergConfigInput } from '@iceberg/config';
import type { RecordingEventV1 } from '@iceberg/contracts';
import type { Detector } from '@iceberg/vision';

export const ROOT = process.env.ICEBERG_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));
export const VTEST_MP4 = join(ROOT, 'assets/samples/vtest.mp4');
export const FFPROBE = (process.env.FFMPEG_PATH ?? 'ffmpeg').replace(/ffmpeg$/, 'ffprobe');
export const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

/** A data directory of the test's own, with the sample under a name of its own (to find its ffmpeg by). */
export function testDir(name: string): { dir: string; input: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `iceberg-rec-${name}-`));
  const input = join(dir, `${name}-camera.mp4`);
  copyFileSync(VTEST_MP4, input);
  return { dir, input, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A config with no disk floor (tests own the disk figures) unless the test sets one. */
export function recordingConfig(o: IcebergConfigInput): IcebergConfig {
  return IcebergConfig.parse({
    ...o,
    recording: { freeSpaceFloor: { bytes: 0, percent: 0 }, checkSeconds: 1, ...o.recording },
  });
}

/** An in-process bus whose `recordings` topic is collected (the bus validates every message). */
export async function recordingBus(): Promise<{ bus: Bus; events: RecordingEventV1[] }> {
  const bus = new Bus(new MemoryBus());
  const events: RecordingEventV1[] = [];
  await bus.subscribe('recordings', { group: 'test' }, async (m) => void events.push(m));
  return { bus, events };
}

export async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** ffprobe's decoded frame count and duration of a file; throws when it cannot decode it. */
export function probe(file: string): { frames: number; codec: string; width: number; height: number } {
  const r = spawnSync(
    FFPROBE,
    [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,width,height,nb_read_frames',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0 || r.stderr.trim()) throw new Error(`ffprobe ${file}: ${r.stderr}`);
  const s = (JSON.parse(r.stdout) as { streams: Record<string, string | number>[] }).streams[0];
  if (!s) throw new Error(`ffprobe ${file}: no video stream`);
  return {
    frames: Number(s.nb_read_frames),
    codec: String(s.codec_name),
    width: Number(s.width),
    height: Number(s.height),
  };
}

/** Decodes a file fully; returns ffmpeg's error output (empty when clean). */
export function decodeErrors(file: string): string {
  const r = spawnSync(FFMPEG, ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${r.status === 0 ? '' : `exit ${r.status}\n`}${r.stderr}`.trim();
}

/** A detector for cameras whose detection is off: never called. */
export const idleDetector: Detector = {
  name: 'idle',
  inputSize: { width: 416, height: 416 },
  detect: () => Promise.reject(new Error('detection is off in this test')),
  close: () => Promise.resolve(),
};

export const quiet = silentLogger();
