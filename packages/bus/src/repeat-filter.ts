/**
 * Lets a log line through once per `windowMs`: the Kafka client can write the same error hundreds
 * of times in a millisecond (one per request waiting when the brokers go away). The next time a
 * line passes after being held back, it says how many copies were dropped.
 */
export class RepeatFilter {
  private readonly seen = new Map<string, { at: number; dropped: number }>();

  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 1000,
  ) {}

  /** undefined: drop this line; otherwise the number of copies dropped since it last passed. */
  pass(line: string): number | undefined {
    const now = this.now();
    const entry = this.seen.get(line);
    if (entry && now - entry.at < this.windowMs) {
      entry.dropped++;
      return undefined;
    }
    const dropped = entry?.dropped ?? 0;
    this.seen.delete(line);
    this.seen.set(line, { at: now, dropped: 0 });
    // Bounded: the lines least recently let through are forgotten first.
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    return dropped;
  }
}
