/** Percentile of a list of numbers (nearest-rank on a sorted copy); NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A fixed-size window of recent samples, for p50/p95 of latencies without unbounded memory. */
export class SampleWindow {
  private readonly samples: number[] = [];
  private next = 0;

  constructor(private readonly size = 500) {}

  add(value: number): void {
    if (this.samples.length < this.size) this.samples.push(value);
    else {
      this.samples[this.next] = value;
      this.next = (this.next + 1) % this.size;
    }
  }

  get count(): number {
    return this.samples.length;
  }

  percentile(p: number): number {
    return percentile(this.samples, p);
  }

  values(): readonly number[] {
    return this.samples;
  }
}
