import { randomUUID } from 'node:crypto';
import { type Clock, errorMessage, IcebergError, systemClock } from '@iceberg/common';
import type { AlertV1 } from '@iceberg/contracts';
import type { ActionSpec, DeliveryContext, DeliveryResult, Notifier } from './notifier.ts';
import { signWebhook, webhookHeaders } from './webhook-signature.ts';

export interface WebhookNotifierOptions {
  /** Whole-request timeout (connect, send, headers and the bit of body read), default 10 000 ms. */
  timeoutMs?: number;
  /** How much of a response body is read (for the error message), default 2048 bytes; the rest is discarded. */
  maxResponseBytes?: number;
  /** Default `Iceberg/0.1`. */
  userAgent?: string;
  /** Stamps `x-iceberg-timestamp` (default the system clock). */
  clock?: Clock;
  /** Makes the `x-iceberg-delivery` id of each attempt (default a random UUID). */
  newDeliveryId?: () => string;
}

/** Why a webhook URL cannot be used, or null when it can. Check it when a rule is saved, too. */
export function webhookUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'the webhook URL is not a valid absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `only http and https webhook URLs are allowed, not ${u.protocol.replace(/:$/, '')}`;
  if (u.username !== '' || u.password !== '')
    return 'credentials in the webhook URL are not supported: use the signing secret';
  return null;
}

/**
 * Delivers alerts by HTTP POST: the AlertV1 as JSON (plus `alertUrl` when known), signed when the
 * action has a secret. 2xx is success; redirects are not followed; 4xx (but 408 and 429) are
 * permanent; 5xx, 408, 429, network errors and timeouts may be retried.
 */
export class WebhookNotifier implements Notifier {
  readonly type = 'webhook' as const;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;
  private readonly clock: Clock;
  private readonly newDeliveryId: () => string;

  constructor(options: WebhookNotifierOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 2048;
    if (!(this.timeoutMs > 0))
      throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', 'webhook timeoutMs must be positive');
    if (!(this.maxResponseBytes >= 0))
      throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', 'webhook maxResponseBytes must not be negative');
    this.userAgent = options.userAgent ?? 'Iceberg/0.1';
    this.clock = options.clock ?? systemClock;
    this.newDeliveryId = options.newDeliveryId ?? randomUUID;
  }

  async deliver(alert: AlertV1, action: ActionSpec, context: DeliveryContext): Promise<DeliveryResult> {
    if (action.type !== 'webhook')
      return permanent(`the webhook notifier cannot deliver ${action.type} actions`);
    const problem = webhookUrlProblem(action.url);
    if (problem) return permanent(problem);

    const body = JSON.stringify(context.alertUrl ? { ...alert, alertUrl: context.alertUrl } : alert);
    const timestamp = Math.floor(this.clock.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.userAgent,
      [webhookHeaders.event]: 'alert',
      [webhookHeaders.delivery]: this.newDeliveryId(),
      [webhookHeaders.timestamp]: String(timestamp),
    };
    if (action.secret) headers[webhookHeaders.signature] = signWebhook(action.secret, timestamp, body);

    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(action.url, { method: 'POST', headers, body, redirect: 'manual', signal });
    } catch (err) {
      return this.failureOf(err);
    }

    const status = response.status;
    if (status >= 200 && status < 300) {
      // The receiver has accepted the alert: what it says in the body does not matter.
      response.body?.cancel().catch(() => {});
      return { ok: true, statusCode: status, error: null, retryable: false };
    }
    const snippet = await readSome(response, this.maxResponseBytes).catch(() => '');
    const said = snippet ? `: ${snippet}` : '';
    if (status >= 300 && status < 400) {
      const location = response.headers.get('location');
      return {
        ok: false,
        statusCode: status,
        error: `HTTP ${status}: the webhook answered with a redirect${location ? ` to ${location.slice(0, 200)}` : ''}; redirects are not followed, update the URL`,
        retryable: false,
      };
    }
    const retryable = status >= 500 || status === 408 || status === 429;
    const result: DeliveryResult = {
      ok: false,
      statusCode: status,
      error: `HTTP ${status}${said}`,
      retryable,
    };
    if (retryable) {
      const after = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
      if (after !== null) result.retryAfterMs = after;
    }
    return result;
  }

  private failureOf(err: unknown): DeliveryResult {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
      return { ok: false, statusCode: null, error: `timeout after ${this.timeoutMs} ms`, retryable: true };
    const cause =
      err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
    if (cause?.message === 'bad port')
      return permanent('the webhook port is one that HTTP clients refuse to use (fetch "bad port")');
    const detail = cause?.message ?? errorMessage(err);
    return { ok: false, statusCode: null, error: `network error: ${detail}`, retryable: true };
  }
}

function permanent(error: string): DeliveryResult {
  return { ok: false, statusCode: null, error, retryable: false };
}

/** Reads at most `limit` bytes of the body as text (one line, trimmed), then drops the rest. */
async function readSome(response: Response, limit: number): Promise<string> {
  const body = response.body;
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).subarray(0, limit).toString('utf8');
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; null when absent or
 * unreadable. Not capped here: the dispatcher caps it.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}
