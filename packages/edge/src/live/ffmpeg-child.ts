import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '@iceberg/common';
import type { FfmpegExit } from '../camera/index.ts';

/**
 * One ffmpeg of the live push (a copy push, a frame decoder or an encoder): stdout for data or
 * progress, stderr for its log, and stdin when it is fed frames.
 */
export interface FfmpegChild {
  readonly pid: number | undefined;
  /** Null unless started with `stdin: true`. */
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the process has exited or failed to start; never rejects. */
  readonly exited: Promise<FfmpegExit>;
  kill(signal: NodeJS.Signals): void;
}

export type SpawnFfmpegChild = (
  command: string,
  args: readonly string[],
  options: { stdin: boolean },
) => FfmpegChild;

/**
 * util-linux's `setpriv --pdeathsig` makes the kernel kill the child when the agent dies,
 * however it dies (even SIGKILL): a push must never outlive the agent that supervises it.
 */
const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = existsSync(SETPRIV);

/** Starts a real ffmpeg without a shell; killed with the agent when `setpriv` is available. */
export const spawnFfmpegChild: SpawnFfmpegChild = (command, args, options) => {
  const [file, argv] = hasSetpriv
    ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]]
    : [command, [...args]];
  const child = spawn(file, argv, {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const exited = new Promise<FfmpegExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, error: null }));
    child.once('error', (error: Error & { code?: string }) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  const stdout = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  for (const s of [stdout, stderr, child.stdin]) s?.on('error', () => {});
  return {
    pid: child.pid,
    stdin: child.stdin ?? null,
    stdout,
    stderr,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill(signal);
    },
  };
};

/**
 * Ends a child: SIGTERM, SIGKILL after `graceMs` if it is still there. Resolves when it is gone.
 * (A push has no file to finish: the grace period is short.)
 */
export async function stopChild(child: FfmpegChild, graceMs: number, clock: Clock): Promise<FfmpegExit> {
  let done = false;
  void child.exited.then(() => {
    done = true;
  });
  child.stdin?.end();
  child.kill('SIGTERM');
  const timer = clock.setTimeout(() => {
    if (!done) child.kill('SIGKILL');
  }, graceMs);
  const exit = await child.exited;
  clock.clearTimeout(timer);
  return exit;
}

/**
 * Reads ffmpeg's `-progress pipe:1` reports (`key=value` lines, a block ending with
 * `progress=continue|end`) and calls `onFrames` with the number of frames written so far.
 */
export class ProgressReader {
  private rest = '';

  constructor(private readonly onFrames: (frames: number) => void) {}

  push(chunk: Uint8Array | string): void {
    const text = this.rest + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const lines = text.split('\n');
    this.rest = (lines.pop() ?? '').slice(-1024);
    for (const line of lines) {
      const m = /^frame=\s*(\d+)\s*$/.exec(line);
      if (m) this.onFrames(Number(m[1]));
    }
  }
}
