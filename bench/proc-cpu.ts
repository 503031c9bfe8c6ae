import { readdirSync, readFileSync } from 'node:fs';

/** utime+stime (clock ticks) of this process and every live child process (ffmpeg), from /proc. */
export function processTreeTicks(): number {
  const stat = (pid: string) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
    } catch {
      return null;
    }
  };
  let total = stat('self')!.ticks;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const s = stat(pid);
    if (s && s.ppid === process.pid) total += s.ticks;
  }
  return total;
}

/** Measures the cores used by this process tree while `run` runs. */
export async function measureCores<T>(
  run: () => Promise<T>,
): Promise<{ result: T; cores: number; seconds: number }> {
  const t0 = performance.now();
  const c0 = processTreeTicks();
  const result = await run();
  const seconds = (performance.now() - t0) / 1000;
  return { result, cores: (processTreeTicks() - c0) / 100 / seconds, seconds };
}
