import type { AlertV1 } from '@iceberg/contracts';

/** A webhook action: a JSON POST of the alert, signed with HMAC-SHA256 when a secret is set. */
export type WebhookAction = { type: 'webhook'; url: string; secret?: string };
/** An e-mail action: one message to all the recipients. */
export type EmailAction = { type: 'email'; to: string[] };
/** What a rule asks to be done when it raises an alert. */
export type ActionSpec = WebhookAction | EmailAction;
export type ActionType = ActionSpec['type'];

/** What a delivery may carry besides the alert. */
export interface DeliveryContext {
  /** The best picture of the alert, attached to e-mails. */
  snapshot?: { jpeg: Buffer; filename: string } | null;
  /** A link to the alert in the web app. */
  alertUrl?: string;
  /** An IANA time zone (e.g. `Europe/Paris`) for the times shown to people; overrides the notifier's. */
  timeZone?: string;
}

/** The outcome of one delivery attempt, as a notifier reports it. Notifiers never throw for delivery failures. */
export interface DeliveryResult {
  ok: boolean;
  /** HTTP status for webhooks, SMTP reply code for e-mail; null when there was no reply. */
  statusCode: number | null;
  /** What went wrong, in words for people; null when ok. Never contains secrets. */
  error: string | null;
  /** Failures only: true when a later attempt may succeed (network error, timeout, 5xx HTTP, 4xx SMTP…). */
  retryable: boolean;
  /** When the receiver said when to come back (HTTP `Retry-After`), in milliseconds; uncapped. */
  retryAfterMs?: number;
}

/** The port: one adapter per action type (webhook, e-mail…). */
export interface Notifier {
  readonly type: ActionType;
  deliver(alert: AlertV1, action: ActionSpec, context: DeliveryContext): Promise<DeliveryResult>;
}

/** What happened to an attempt, from the dispatcher's point of view. */
export type AttemptOutcome =
  /** The attempt succeeded. */
  | 'delivered'
  /** The attempt failed and another one is scheduled (see `nextAttemptAt`). */
  | 'retrying'
  /** The attempt failed for good: a permanent failure, or the last attempt allowed. */
  | 'failed'
  /** The dispatcher was closed: no further attempt will be made. */
  | 'abandoned';

/** One delivery attempt, as recorded. */
export interface DeliveryAttempt {
  /** e.g. `webhook https://example.com/hook` or `email a@example.com,b@example.com`: no secrets, no query. */
  action: string;
  /** 1 for the first attempt. */
  attempt: number;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** When the attempt started (ms since the epoch, from the dispatcher's clock). */
  at: number;
  durationMs: number;
  outcome: AttemptOutcome;
  /** When `outcome` is `retrying`: when the next attempt is due (ms since the epoch); otherwise null. */
  nextAttemptAt: number | null;
}

/** A short description of an action for records and logs: never the secret, the URL's credentials or query. */
export function describeAction(action: ActionSpec): string {
  switch (action.type) {
    case 'webhook':
      return `webhook ${redactUrl(action.url)}`;
    case 'email':
      return `email ${action.to.join(',')}`;
    default: {
      const unknown: never = action;
      return `unknown ${(unknown as { type?: unknown }).type}`;
    }
  }
}

/** The URL without credentials, query or fragment (they often carry tokens); unparseable URLs are cut short. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return `${url
      .replace(/[?#].*$/s, '')
      .replace(/\/\/[^/@]*@/, '//')
      .slice(0, 100)} (invalid URL)`;
  }
}
