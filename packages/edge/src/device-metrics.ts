import { readFileSync } from 'node:fs';

/**
 * CPU use of this process and its children (ffmpeg), in cores, between two calls. Reads
 * /proc where it exists (children's time counts only once they have been waited for, so the
 * live ffmpeg processes are read by pid), and falls back to process.cpuUsage() elsewhere.
 */
export class CpuMeter {
  private last: { at: number; ticks: number } | null = null;
  private static readonly ticksPerSecond = 100;

  constructor(private readonly childPids: () => readonly number[] = () => []) {}

  /** Cores used since the previous call (0 on the first). */
  sample(now = performance.now()): number {
    const ticks = this.ticks();
    const prev = this.last;
    this.last = { at: now, ticks };
    if (!prev || now <= prev.at) return 0;
    return Math.max(0, (ticks - prev.ticks) / CpuMeter.ticksPerSecond / ((now - prev.at) / 1000));
  }

  private ticks(): number {
    let total = procTicks('self');
    for (const pid of this.childPids()) total += procTicks(String(pid));
    if (Number.isNaN(total)) {
      const u = process.cpuUsage();
      return ((u.user + u.system) / 1e6) * CpuMeter.ticksPerSecond;
    }
    return total;
  }
}

/** utime + stime of a process, in clock ticks; 0 for a process that is gone, NaN without /proc. */
export function procTicks(pid: string): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return pid === 'self' ? Number.NaN : 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
