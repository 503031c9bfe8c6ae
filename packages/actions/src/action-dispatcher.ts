import { performance } from 'node:perf_hooks';
import {
  type Clock,
  errorMessage,
  IcebergError,
  type Logger,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '@iceberg/common';
import type { AlertV1 } from '@iceberg/contracts';
import {
  type ActionSpec,
  type ActionType,
  type AttemptOutcome,
  type DeliveryAttempt,
  type DeliveryContext,
  type DeliveryResult,
  describeAction,
  type Notifier,
} from './notifier.ts';

export interface RetryPolicy {
  /** Attempts in all, the first one included (default 5). */
  attempts: number;
  /** Delay before the second attempt (default 1000 ms); it doubles with each attempt. */
  initialDelayMs: number;
  /** Longest delay between two attempts from the backoff (default 60 000 ms). */
  maxDelayMs: number;
  /** 0..1: each delay is shortened at random by up to this fraction of itself (default 0.2; 0 = none). */
  jitter: number;
  /** Longest wait that a receiver's `Retry-After` can impose (default 300 000 ms). */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: Readonly<RetryPolicy> = Object.freeze({
  attempts: 5,
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  jitter: 0.2,
  maxRetryAfterMs: 300_000,
});

/** An attempt as handed to `record`: with the alert it was for. */
export type RecordedAttempt = DeliveryAttempt & { alertId: string; orgId: string };

export interface ActionDispatcherOptions {
  /** One notifier per action type. */
  notifiers: readonly Notifier[];
  /** Stores one attempt. Called for every attempt, in order per action; a rejection is logged, not retried. */
  record: (attempt: RecordedAttempt) => Promise<void>;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  /** Source of randomness for the jitter (default Math.random). */
  random?: () => number;
}

/** How one action of one alert ended. */
export interface DispatchResult {
  /** As in the attempts: `webhook https://…`, `email a@b`. */
  action: string;
  type: ActionType;
  outcome: Exclude<AttemptOutcome, 'retrying'>;
  ok: boolean;
  /** Attempts actually made (0 when abandoned before the first). */
  attempts: number;
  /** Of the last attempt made. */
  statusCode: number | null;
  error: string | null;
}

/**
 * Runs the actions of alerts: each action on its own (one failing never holds up another),
 * retrying what may succeed later with exponential backoff and jitter, recording every attempt.
 * `dispatch` never throws for delivery failures: it resolves with one result per action once
 * each is delivered, failed for good, or abandoned by `close()`.
 */
export class ActionDispatcher {
  private readonly notifiers = new Map<string, Notifier>();
  private readonly record: (attempt: RecordedAttempt) => Promise<void>;
  private readonly clock: Clock;
  private readonly policy: RetryPolicy;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly running = new Set<Promise<DispatchResult>>();
  private readonly sleeping = new Set<{ handle: TimerHandle; wake: (proceed: boolean) => void }>();
  private closed = false;

  constructor(options: ActionDispatcherOptions) {
    for (const notifier of options.notifiers) {
      if (this.notifiers.has(notifier.type))
        throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', `two notifiers for "${notifier.type}" actions`);
      this.notifiers.set(notifier.type, notifier);
    }
    this.record = options.record;
    this.clock = options.clock ?? systemClock;
    this.policy = checkPolicy({ ...defaultRetryPolicy, ...definedOnly(options.retry ?? {}) });
    this.logger = options.logger ?? silentLogger();
    this.random = options.random ?? Math.random;
  }

  /** Delivers each action of the alert; resolves with one result per action, in the order given. */
  dispatch(
    alert: AlertV1,
    actions: readonly ActionSpec[],
    context: DeliveryContext = {},
  ): Promise<DispatchResult[]> {
    return Promise.all(
      actions.map((action) => {
        const run = this.run(alert, action, context);
        this.running.add(run);
        const done = () => this.running.delete(run);
        run.then(done, done);
        return run;
      }),
    );
  }

  /** Actions not finished yet: being attempted or waiting for a retry. */
  pending(): number {
    return this.running.size;
  }

  /**
   * Stops retrying: scheduled retries are abandoned (and recorded as such), attempts in flight
   * finish and are recorded (a retryable failure among them is recorded as abandoned). Resolves
   * when every dispatch has settled. Later dispatches are abandoned at once.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const sleeper of this.sleeping) {
      this.clock.clearTimeout(sleeper.handle);
      sleeper.wake(false);
    }
    this.sleeping.clear();
    await Promise.allSettled([...this.running]);
  }

  private async run(alert: AlertV1, action: ActionSpec, context: DeliveryContext): Promise<DispatchResult> {
    const label = safeDescribe(action);
    const type = (action as { type?: unknown }).type as ActionType;
    const base = { action: label, alertId: alert.id, orgId: alert.orgId };
    let last: DeliveryResult | null = null;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) {
        const error = `abandoned: the dispatcher was closed before attempt ${attempt}${last?.error ? ` (last error: ${last.error})` : ''}`;
        await this.save({
          ...base,
          attempt,
          ok: false,
          statusCode: null,
          error,
          at: this.clock.now(),
          durationMs: 0,
          outcome: 'abandoned',
          nextAttemptAt: null,
        });
        return {
          action: label,
          type,
          outcome: 'abandoned',
          ok: false,
          attempts: attempt - 1,
          statusCode: last?.statusCode ?? null,
          error,
        };
      }

      const at = this.clock.now();
      const started = performance.now();
      const result = await this.attempt(alert, action, context);
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      last = result;

      let outcome: AttemptOutcome;
      let delay = 0;
      if (result.ok) outcome = 'delivered';
      else if (!result.retryable || attempt >= this.policy.attempts) outcome = 'failed';
      else if (this.closed) outcome = 'abandoned';
      else {
        outcome = 'retrying';
        delay = retryDelayMs(this.policy, attempt, this.random(), result.retryAfterMs);
      }
      const nextAttemptAt = outcome === 'retrying' ? this.clock.now() + delay : null;
      const error = result.ok ? null : (result.error ?? 'failed');
      // The wait starts now, not once the attempt is recorded.
      const waited = outcome === 'retrying' ? this.sleep(delay) : null;
      await this.save({
        ...base,
        attempt,
        ok: result.ok,
        statusCode: result.statusCode,
        error,
        at,
        durationMs,
        outcome,
        nextAttemptAt,
      });
      this.log(label, alert, attempt, outcome, error, delay);
      if (outcome !== 'retrying')
        return {
          action: label,
          type,
          outcome,
          ok: result.ok,
          attempts: attempt,
          statusCode: result.statusCode,
          error,
        };
      await waited;
    }
  }

  private async attempt(
    alert: AlertV1,
    action: ActionSpec,
    context: DeliveryContext,
  ): Promise<DeliveryResult> {
    const type = (action as { type?: unknown }).type;
    const notifier = typeof type === 'string' ? this.notifiers.get(type) : undefined;
    if (!notifier)
      return {
        ok: false,
        statusCode: null,
        error: `no notifier for "${String(type)}" actions`,
        retryable: false,
      };
    try {
      return await notifier.deliver(alert, action, context);
    } catch (err) {
      // A notifier should not throw; if one does, treat it as a transient failure (attempts are bounded).
      return {
        ok: false,
        statusCode: null,
        error: `the ${type} notifier failed: ${errorMessage(err)}`,
        retryable: true,
      };
    }
  }

  /** Waits `ms` on the clock; returns early (false) when the dispatcher is closed. */
  private sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const sleeper = {
        handle: null as unknown as TimerHandle,
        wake: (proceed: boolean) => resolve(proceed),
      };
      sleeper.handle = this.clock.setTimeout(() => {
        this.sleeping.delete(sleeper);
        resolve(true);
      }, ms);
      this.sleeping.add(sleeper);
    });
  }

  private async save(attempt: RecordedAttempt): Promise<void> {
    try {
      await this.record(attempt);
    } catch (err) {
      this.logger.error(
        {
          alertId: attempt.alertId,
          action: attempt.action,
          attempt: attempt.attempt,
          err: errorMessage(err),
        },
        'could not record a delivery attempt',
      );
    }
  }

  private log(
    action: string,
    alert: AlertV1,
    attempt: number,
    outcome: AttemptOutcome,
    error: string | null,
    delay: number,
  ): void {
    const fields = { alertId: alert.id, orgId: alert.orgId, action, attempt, error };
    switch (outcome) {
      case 'delivered':
        this.logger.info(fields, 'alert action delivered');
        break;
      case 'retrying':
        this.logger.info({ ...fields, retryInMs: delay }, 'alert action failed, will retry');
        break;
      case 'failed':
        this.logger.warn(fields, 'alert action failed');
        break;
      case 'abandoned':
        this.logger.warn(fields, 'alert action abandoned');
        break;
      default: {
        const never: never = outcome;
        throw new Error(`unexpected outcome ${String(never)}`);
      }
    }
  }
}

/**
 * The wait before attempt `attempt + 1`: `initialDelayMs · 2^(attempt−1)` capped at `maxDelayMs`,
 * shortened by up to `jitter` of itself (`random` in [0, 1)), and never shorter than the
 * receiver's `Retry-After` (itself capped at `maxRetryAfterMs`).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: number,
  retryAfterMs?: number,
): number {
  const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  const jittered = backoff * (1 - policy.jitter * Math.min(1, Math.max(0, random)));
  const asked = retryAfterMs === undefined ? 0 : Math.min(Math.max(0, retryAfterMs), policy.maxRetryAfterMs);
  return Math.round(Math.max(jittered, asked));
}

function checkPolicy(p: RetryPolicy): RetryPolicy {
  const problem =
    !Number.isInteger(p.attempts) || p.attempts < 1
      ? 'retry.attempts must be an integer of at least 1'
      : !(p.initialDelayMs >= 0)
        ? 'retry.initialDelayMs must not be negative'
        : !(p.maxDelayMs >= 0)
          ? 'retry.maxDelayMs must not be negative'
          : !(p.jitter >= 0 && p.jitter <= 1)
            ? 'retry.jitter must be between 0 and 1'
            : !(p.maxRetryAfterMs >= 0)
              ? 'retry.maxRetryAfterMs must not be negative'
              : null;
  if (problem) throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', problem);
  return Object.freeze(p);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function safeDescribe(action: ActionSpec): string {
  try {
    return describeAction(action);
  } catch {
    return `${String((action as { type?: unknown })?.type)} (malformed action)`;
  }
}
