/**
 * Export of a time range as one MP4: ffmpeg's concat demuxer over the segment files, stream copy
 * (no re-encoding, < 1 s of CPU for an hour), the first file entered at the range's start and the
 * last left at its end, the index moved to the front (`faststart`) so that the download plays
 * while it arrives. Cuts fall on keyframes: the clip starts at the keyframe at or before `from`.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IcebergError } from '@iceberg/common';

export interface ExportPart {
  /** Local file of the segment. */
  file: string;
  /** Seconds into the file where the clip starts (first part only). */
  inpoint?: number;
  /** Seconds into the file where the clip ends (last part only). */
  outpoint?: number;
}

/** The ffconcat list of `parts` (paths quoted for ffmpeg: `'` becomes `'\''`). */
export function concatList(parts: readonly ExportPart[]): string {
  const lines = ['ffconcat version 1.0'];
  for (const p of parts) {
    lines.push(`file '${p.file.replaceAll("'", "'\\''")}'`);
    if (p.inpoint !== undefined && p.inpoint > 0) lines.push(`inpoint ${p.inpoint.toFixed(3)}`);
    if (p.outpoint !== undefined) lines.push(`outpoint ${p.outpoint.toFixed(3)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the clip of `parts` to `<workDir>/clip.mp4` and returns its path. Fails with a clear
 * IcebergError when ffmpeg is missing, fails, or takes longer than `timeoutMs`.
 */
export async function exportClip(o: {
  ffmpegPath: string;
  parts: readonly ExportPart[];
  workDir: string;
  timeoutMs?: number;
}): Promise<string> {
  const list = join(o.workDir, 'list.ffconcat');
  const out = join(o.workDir, 'clip.mp4');
  await writeFile(list, concatList(o.parts));
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    '-y',
    out,
  ];
  await new Promise<void>((resolveRun, reject) => {
    const proc = spawn(o.ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    proc.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new IcebergError(
              'ICEBERG_ERR_FFMPEG_MISSING',
              `ffmpeg not found at "${o.ffmpegPath}": install ffmpeg`,
            )
          : err,
      );
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolveRun();
      else
        reject(
          new IcebergError(
            'ICEBERG_ERR_INTERNAL',
            signal
              ? 'the export took too long and was stopped'
              : 'the export failed: ffmpeg could not join the segments',
            // ffmpeg's words name files of the server: for the log (the cause), not the response
            { cause: new Error(stderr.trim().split('\n').slice(-3).join('\n')) },
          ),
        );
    });
  });
  return out;
}
