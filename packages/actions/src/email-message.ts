import type { AlertV1 } from '@iceberg/contracts';

/** The content-id of the inline snapshot in alert e-mails. */
export const snapshotCid = 'snapshot@iceberg';

export interface AlertEmailContent {
  subject: string;
  text: string;
  html: string;
}

export interface AlertEmailOptions {
  alertUrl?: string | undefined;
  /** An IANA time zone: the time is shown in it as well as in ISO 8601 UTC. */
  timeZone?: string | undefined;
  /** Whether the snapshot is attached (inline, as `cid:snapshot@iceberg`). */
  withSnapshot?: boolean;
}

/** Subject, plain text and HTML of the e-mail for an alert. Pure. */
export function alertEmail(alert: AlertV1, options: AlertEmailOptions = {}): AlertEmailContent {
  const when = formatTime(alert.at, options.timeZone);
  const link = safeLink(options.alertUrl);
  const score = alert.score.toFixed(2);
  const rows: Array<[string, string]> = [
    ['Time', when],
    ['Rule', `${alert.ruleName} (${alert.ruleId})`],
    ['Camera', `${alert.cameraId} (device ${alert.deviceId})`],
    ['Object', `${alert.class}, score ${score}`],
    ['Reason', alert.reason],
  ];
  if (link) rows.push(['Alert', link]);

  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const text = [
    alert.message,
    '',
    ...rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`),
    '',
    options.withSnapshot ? 'The snapshot is attached.' : '',
    `Alert id: ${alert.id}`,
    '',
  ]
    .filter((line, i, all) => line !== '' || all[i - 1] !== '')
    .join('\n');

  const cell = 'padding:2px 12px 2px 0;vertical-align:top';
  const htmlRows = rows
    .map(([k, v]) => {
      const value = k === 'Alert' ? `<a href="${escapeHtml(v)}">${escapeHtml(v)}</a>` : escapeHtml(v);
      return `<tr><th style="${cell};text-align:left">${escapeHtml(k)}</th><td style="${cell}">${value}</td></tr>`;
    })
    .join('');
  const picture = options.withSnapshot
    ? `<p><img src="cid:${snapshotCid}" alt="Snapshot" style="max-width:640px;width:100%"></p>`
    : '';
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<p style="font-size:16px"><strong>${escapeHtml(alert.message)}</strong></p>`,
    `<table style="border-collapse:collapse">${htmlRows}</table>`,
    picture,
    `<p style="color:#888;font-size:12px">Iceberg alert ${escapeHtml(alert.id)}</p>`,
    '</body></html>',
  ].join('');

  return { subject: alertSubject(alert), text, html };
}

/**
 * `[Iceberg] person entered Loading bay — front-door`: the alert's message and its camera (the
 * message's own trailing " on <camera>" is dropped so the camera is not named twice).
 */
export function alertSubject(alert: AlertV1): string {
  let message = alert.message.replace(/[\r\n\t]+/g, ' ').trim();
  const suffix = ` on ${alert.cameraId}`;
  if (message.endsWith(suffix)) message = message.slice(0, -suffix.length);
  const subject = `[Iceberg] ${message || `${alert.class} ${alert.reason}`} — ${alert.cameraId}`;
  return subject.length > 200 ? `${subject.slice(0, 199)}…` : subject;
}

/** ISO 8601 in UTC, and the local time in `timeZone` when given and valid. */
export function formatTime(epochMs: number, timeZone?: string): string {
  const iso = new Date(epochMs).toISOString();
  if (!timeZone) return iso;
  try {
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      dateStyle: 'medium',
      timeStyle: 'long',
    }).format(epochMs);
    return `${iso} (${local}, ${timeZone})`;
  } catch {
    return iso;
  }
}

/** Whether `timeZone` is a time zone that Intl knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Only http(s) links are shown as links (never `javascript:` and the like). */
function safeLink(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
