import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.ts';

describe('webhook signature', () => {
  const body = '{"schema":"alert.v1","message":"café"}';
  const now = 1_736_933_405_000;
  const timestamp = String(now / 1000);

  test('is sha256= and the hex HMAC of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', 'k').update(`${timestamp}.${body}`).digest('hex');
    assert.equal(signWebhook('k', timestamp, body), `sha256=${expected}`);
    assert.equal(signWebhook('k', Number(timestamp), Buffer.from(body)), `sha256=${expected}`);
  });

  test('verifies the right secret, recent enough, and nothing else', () => {
    const signature = signWebhook('k', timestamp, body);
    const input = { secret: 'k', body, timestamp, signature, now };
    assert.equal(verifyWebhookSignature(input), true);
    assert.equal(verifyWebhookSignature({ ...input, secret: 'other' }), false);
    assert.equal(verifyWebhookSignature({ ...input, body: `${body} ` }), false);
    assert.equal(verifyWebhookSignature({ ...input, timestamp: String(Number(timestamp) + 1) }), false);
    assert.equal(verifyWebhookSignature({ ...input, now: now + 301_000 }), false, 'too old: a replay');
    assert.equal(verifyWebhookSignature({ ...input, signature: undefined }), false);
    assert.equal(verifyWebhookSignature({ ...input, signature: 'sha256=00' }), false);
  });
});
