import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers that Iceberg sets on every webhook request. */
export const webhookHeaders = {
  event: 'x-iceberg-event',
  delivery: 'x-iceberg-delivery',
  timestamp: 'x-iceberg-timestamp',
  signature: 'x-iceberg-signature',
} as const;

/**
 * The value of `x-iceberg-signature`: `sha256=` and the hex HMAC-SHA256, keyed with the secret,
 * of `<timestamp>.<body>` (the timestamp as sent in `x-iceberg-timestamp`, the body byte for byte).
 */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `sha256=${hmac}`;
}

export interface VerifyWebhookInput {
  secret: string;
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string | Buffer;
  /** `x-iceberg-timestamp` */
  timestamp: string | string[] | undefined | null;
  /** `x-iceberg-signature` */
  signature: string | string[] | undefined | null;
  /** Largest accepted distance between the timestamp and now, in seconds (default 300): limits replays. */
  toleranceSec?: number;
  /** Milliseconds since the epoch (default `Date.now()`). */
  now?: number;
}

/** For receivers written in Node: true when the request was signed with `secret` recently enough. */
export function verifyWebhookSignature(input: VerifyWebhookInput): boolean {
  const { timestamp, signature } = input;
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const now = input.now ?? Date.now();
  if (Math.abs(now / 1000 - Number(timestamp)) > (input.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(signWebhook(input.secret, timestamp, input.body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
