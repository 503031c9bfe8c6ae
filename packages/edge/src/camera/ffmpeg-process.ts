import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Clock } from '@iceberg/common';

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started (e.g. ENOENT: no such ffmpeg). */
  error: (Error & { code?: string }) | null;
}

/**
 * The port to a running ffmpeg: its three output pipes, a kill switch and two moments, exit
 * (the process is gone) and close (exit, and every byte it wrote has been read).
 */
export interface FfmpegProcess {
  readonly pid: number | undefined;
  /** pipe:1, the detection frames. */
  readonly detect: Readable;
  /** pipe:3, the view frames. */
  readonly view: Readable;
  readonly stderr: Readable;
  /** Resolves when the process has exited or failed to start; never rejects. */
  readonly exited: Promise<FfmpegExit>;
  /** Resolves after `exited` once its pipes are closed too; never rejects. */
  readonly closed: Promise<FfmpegExit>;
  kill(signal: NodeJS.Signals): void;
}

export type SpawnFfmpeg = (command: string, args: readonly string[]) => FfmpegProcess;

/** Starts a real ffmpeg, without a shell: stdin ignored, pipes on fds 1, 2 and 3. */
export const spawnFfmpeg: SpawnFfmpeg = (command, args) => {
  const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], windowsHide: true });
  let exitInfo: FfmpegExit | null = null;
  const exited = new Promise<FfmpegExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal, error: null };
      resolve(exitInfo);
    });
    child.once('error', (error: Error & { code?: string }) => {
      // A failure to start: there will be no 'exit'. (Errors of kill() on a live process are not fatal.)
      if (child.pid === undefined) {
        exitInfo = { code: null, signal: null, error };
        resolve(exitInfo);
      }
    });
  });
  const closed = new Promise<FfmpegExit>((resolve) => {
    child.once('close', (code, signal) => {
      resolve(exitInfo ?? { code, signal, error: null });
    });
  });
  const detect = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  const view = child.stdio[3] as Readable;
  for (const s of [detect, stderr, view]) s.on('error', () => {});
  return {
    pid: child.pid,
    detect,
    view,
    stderr,
    exited,
    closed,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill(signal);
    },
  };
};

/**
 * Ends a process politely: SIGTERM (ffmpeg then finishes its outputs, which matters for recorded
 * segments); a second SIGTERM a third of the grace period later, because ffmpeg lets the first one
 * interrupt a blocking read only before it has started transcoding (a stalled camera would keep
 * it waiting); SIGKILL if it is still there after `graceMs`. Resolves when it is gone.
 */
export async function terminate(proc: FfmpegProcess, graceMs: number, clock: Clock): Promise<FfmpegExit> {
  let done = false;
  void proc.exited.then(() => {
    done = true;
  });
  proc.kill('SIGTERM');
  const again = clock.setTimeout(() => {
    if (!done) proc.kill('SIGTERM');
  }, graceMs / 3);
  const timer = clock.setTimeout(() => {
    if (!done) proc.kill('SIGKILL');
  }, graceMs);
  const exit = await proc.exited;
  clock.clearTimeout(again);
  clock.clearTimeout(timer);
  return exit;
}
