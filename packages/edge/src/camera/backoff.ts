export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Spread of the random part, 0..1: the delay is d·(1 ± jitter). Default 0.2. */
  jitter?: number;
}

/**
 * The wait before attempt number `failures + 1` after `failures` consecutive failures (1 or
 * more): doubles from `initialMs` up to `maxMs`, with jitter so that many cameras failing at once
 * (a switch reboots) do not all come back in step. Never more than `maxMs`.
 */
export function backoffDelay(
  failures: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  const exponent = Math.min(Math.max(0, failures - 1), 30);
  const base = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  const delay = base * (1 - jitter + 2 * jitter * random());
  return Math.round(Math.min(options.maxMs, Math.max(0, delay)));
}
