import { errorMessage, IcebergError } from '@iceberg/common';
import type { AlertV1 } from '@iceberg/contracts';
import nodemailer, { type NodemailerError, type SendMailOptions, type Transporter } from 'nodemailer';
import { alertEmail, isValidTimeZone, snapshotCid } from './email-message.ts';
import type { ActionSpec, DeliveryContext, DeliveryResult, Notifier } from './notifier.ts';

export interface SmtpNotifierOptions {
  host: string;
  port: number;
  /** TLS from the first byte (usually port 465). When false, STARTTLS is used if the server offers it. */
  secure: boolean;
  /** When not `secure`: refuse to send unless the server upgrades the connection with STARTTLS. */
  requireStartTls?: boolean;
  user?: string;
  password?: string;
  /** The sender, e.g. `Iceberg <alerts@example.com>`. */
  from: string;
  /** IANA time zone for the times in the e-mails (each delivery's context may override it). */
  timeZone?: string;
  /** Verify the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Time to connect, default 10 000 ms. */
  connectionTimeoutMs?: number;
  /** Time to the server's greeting, default 10 000 ms. */
  greetingTimeoutMs?: number;
  /** Inactivity allowed during the session, default 30 000 ms. */
  socketTimeoutMs?: number;
}

const simpleAddress = /^[^\s@,;<>()"]+@[^\s@,;<>()"]+$/;

/**
 * Delivers alerts by e-mail through one SMTP server (nodemailer): one message to all the
 * recipients, with a text and an HTML part and the snapshot inline. SMTP 5xx replies are
 * permanent failures; 4xx replies and connection problems may be retried.
 */
export class SmtpNotifier implements Notifier {
  readonly type = 'email' as const;
  private readonly transport: Transporter;
  private readonly from: string;
  private readonly timeZone: string | undefined;

  constructor(options: SmtpNotifierOptions) {
    if (!options.host) throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', 'smtp host is required');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)
      throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', `smtp port ${options.port} is not a valid port`);
    if (!options.from) throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', 'smtp from is required');
    if ((options.user === undefined) !== (options.password === undefined))
      throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', 'smtp user and password go together');
    if (options.timeZone !== undefined && !isValidTimeZone(options.timeZone))
      throw new IcebergError('ICEBERG_ERR_CONFIG_INVALID', `unknown time zone "${options.timeZone}"`);
    this.from = options.from;
    this.timeZone = options.timeZone;
    this.transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: !options.secure && options.requireStartTls === true,
      ...(options.user !== undefined && options.password !== undefined
        ? { auth: { user: options.user, pass: options.password } }
        : {}),
      tls: { rejectUnauthorized: options.rejectUnauthorized ?? true },
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: options.greetingTimeoutMs ?? 10_000,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      dnsTimeout: options.connectionTimeoutMs ?? 10_000,
      logger: false,
    });
  }

  async deliver(alert: AlertV1, action: ActionSpec, context: DeliveryContext): Promise<DeliveryResult> {
    if (action.type !== 'email')
      return permanent(`the e-mail notifier cannot deliver ${action.type} actions`);
    if (action.to.length === 0) return permanent('the e-mail action has no recipients');
    const bad = action.to.filter((a) => !simpleAddress.test(a));
    if (bad.length > 0)
      return permanent(`not an e-mail address: ${bad.map((a) => JSON.stringify(a)).join(', ')}`);

    const snapshot = context.snapshot ?? null;
    const content = alertEmail(alert, {
      alertUrl: context.alertUrl,
      timeZone: context.timeZone ?? this.timeZone,
      withSnapshot: snapshot !== null,
    });
    const message: SendMailOptions = {
      from: this.from,
      to: action.to,
      subject: content.subject,
      text: content.text,
      html: content.html,
      headers: { 'X-Iceberg-Alert-Id': alert.id },
    };
    if (snapshot)
      message.attachments = [
        {
          filename: safeFilename(snapshot.filename),
          content: snapshot.jpeg,
          contentType: 'image/jpeg',
          cid: snapshotCid,
          contentDisposition: 'inline',
        },
      ];

    try {
      const info = (await this.transport.sendMail(message)) as {
        response?: unknown;
        rejected?: unknown[];
        rejectedErrors?: unknown[];
      };
      const rejected = (info.rejected ?? []).map(String);
      if (rejected.length > 0) {
        // Some recipients got it: retrying would send it to them again.
        const first = info.rejectedErrors?.[0] as NodemailerError | undefined;
        return {
          ok: false,
          statusCode: first?.responseCode ?? null,
          error: `the server refused ${rejected.join(', ')}${first ? `: ${smtpReply(first)}` : ''} (the others were sent the e-mail)`,
          retryable: false,
        };
      }
      const reply = /^\d{3}/.exec(String(info.response ?? ''));
      return { ok: true, statusCode: reply ? Number(reply[0]) : 250, error: null, retryable: false };
    } catch (err) {
      return classifySmtpError(err);
    }
  }

  /** Closes the transport's connections. */
  close(): void {
    this.transport.close();
  }
}

/** Codes of nodemailer errors that no later attempt would fix. */
const permanentCodes = new Set(['ENOAUTH', 'ECONFIG', 'EENVELOPE', 'EREQUIRETLS', 'EMAXRECIPIENTS']);

/** SMTP failures: a 5xx reply (but 503) is permanent, a 4xx reply or a connection problem is not. */
export function classifySmtpError(err: unknown): DeliveryResult {
  const e = (err ?? {}) as NodemailerError;
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  if (code !== null) {
    const permanentReply = code >= 500 && code < 600 && code !== 503;
    const command = typeof e.command === 'string' ? ` (in reply to ${e.command.split(' ')[0]})` : '';
    return {
      ok: false,
      statusCode: code,
      error: `SMTP ${smtpReply(e)}${command}`,
      retryable: !permanentReply,
    };
  }
  const kind = typeof e.code === 'string' ? e.code : '';
  const timeout = kind === 'ETIMEDOUT' ? 'timeout: ' : '';
  const original = e.originalCode && e.originalCode !== kind ? ` (${e.originalCode})` : '';
  const error = `${timeout}${kind ? `${kind}${original}: ` : ''}${errorMessage(err)}`;
  return { ok: false, statusCode: null, error, retryable: !permanentCodes.has(kind) };
}

function smtpReply(e: NodemailerError): string {
  const reply = (e.response ?? e.message ?? '').replace(/\s+/g, ' ').trim();
  return reply.slice(0, 300);
}

function permanent(error: string): DeliveryResult {
  return { ok: false, statusCode: null, error, retryable: false };
}

function safeFilename(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);
  return clean || 'snapshot.jpg';
}
