import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CameraSource, CameraSourceStatus } from '../../src/camera/index.ts';

export const ROOT = process.env.ICEBERG_ROOT ?? fileURLToPath(new URL('../../../../', import.meta.url));
export const VTEST_MP4 = join(ROOT, 'assets/samples/vtest.mp4');
export const VTEST_AVI = join(ROOT, 'assets/samples/vtest.avi');
export const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'iceberg-camera-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs ffmpeg to completion (for making test inputs). */
export function ffmpeg(args: string[]): void {
  const r = spawnSync(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Every status of a source, and a way to wait for the next one that matches. */
export function watch(source: CameraSource) {
  const statuses: CameraSourceStatus[] = [];
  const waiters: { pred: (s: CameraSourceStatus) => boolean; resolve: (s: CameraSourceStatus) => void }[] =
    [];
  source.on('status', (s) => {
    statuses.push(s);
    for (const w of [...waiters])
      if (w.pred(s)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(s);
      }
  });
  return {
    statuses,
    /** The first status (already seen or to come) that matches, within `ms`. */
    until(pred: (s: CameraSourceStatus) => boolean, ms = 10_000): Promise<CameraSourceStatus> {
      const seen = statuses.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (s: CameraSourceStatus) => {
            clearTimeout(t);
            resolve(s);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no such status within ${ms} ms; got ${JSON.stringify(statuses)}`));
        }, ms);
        waiters.push(w);
      });
    },
  };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
