import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeAction } from './notifier.ts';

describe('action description', () => {
  test('never shows the secret, URL credentials, query or fragment', () => {
    assert.equal(
      describeAction({
        type: 'webhook',
        url: 'https://u:p@hooks.example.com:8443/a/b?token=x#y',
        secret: 'k',
      }),
      'webhook https://hooks.example.com:8443/a/b',
    );
    assert.equal(
      describeAction({ type: 'webhook', url: 'not a url?token=x' }),
      'webhook not a url (invalid URL)',
    );
    assert.equal(
      describeAction({ type: 'email', to: ['a@example.com', 'b@example.com'] }),
      'email a@example.com,b@example.com',
    );
  });
});
