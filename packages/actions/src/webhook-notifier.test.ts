import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sampleAlert } from '../test/fixtures.ts';
import { parseRetryAfter, WebhookNotifier, webhookUrlProblem } from './webhook-notifier.ts';

describe('webhook notifier (no network)', () => {
  test('Retry-After in seconds or as a date', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });

  test('only plain http(s) URLs', async () => {
    assert.equal(webhookUrlProblem('https://example.com/x'), null);
    assert.match(webhookUrlProblem('ftp://example.com/x')!, /only http and https.*not ftp/);
    assert.match(webhookUrlProblem('file:///etc/passwd')!, /not file/);
    assert.match(webhookUrlProblem('https://u:p@example.com/')!, /credentials/);
    assert.match(webhookUrlProblem('/relative')!, /not a valid absolute URL/);
    const result = await new WebhookNotifier().deliver(sampleAlert(), { type: 'email', to: ['a@b.c'] }, {});
    assert.equal(result.retryable, false);
  });
});
