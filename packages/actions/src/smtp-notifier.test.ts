import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifySmtpError } from './smtp-notifier.ts';

function smtpError(props: Record<string, unknown>): Error {
  return Object.assign(new Error(String(props.response ?? props.message ?? 'failed')), props);
}

describe('SMTP failure classification', () => {
  const cases: Array<[string, Record<string, unknown>, boolean, number | null]> = [
    [
      '550 mailbox unknown',
      { code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 no such user' },
      false,
      550,
    ],
    ['554 rejected message', { code: 'EMESSAGE', responseCode: 554, response: '554 spam' }, false, 554],
    [
      '535 authentication failed',
      { code: 'EAUTH', responseCode: 535, response: '535 bad credentials' },
      false,
      535,
    ],
    [
      '503 bad sequence: try again',
      { code: 'EPROTOCOL', responseCode: 503, response: '503 bad sequence' },
      true,
      503,
    ],
    ['450 mailbox busy', { code: 'EENVELOPE', responseCode: 450, response: '450 try later' }, true, 450],
    ['421 shutting down', { code: 'EPROTOCOL', responseCode: 421, response: '421 bye' }, true, 421],
    [
      'connection refused',
      { code: 'ESOCKET', originalCode: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
      true,
      null,
    ],
    ['timeout', { code: 'ETIMEDOUT', message: 'Greeting never received' }, true, null],
    ['DNS', { code: 'EDNS', message: 'getaddrinfo ENOTFOUND' }, true, null],
    ['no credentials', { code: 'ENOAUTH', message: 'Missing credentials' }, false, null],
    ['no recipients', { code: 'EENVELOPE', message: 'No recipients defined' }, false, null],
  ];
  for (const [name, props, retryable, statusCode] of cases)
    test(name, () => {
      const r = classifySmtpError(smtpError(props));
      assert.equal(r.ok, false);
      assert.equal(r.retryable, retryable);
      assert.equal(r.statusCode, statusCode);
      assert.ok(r.error && r.error.length > 0);
    });
});
