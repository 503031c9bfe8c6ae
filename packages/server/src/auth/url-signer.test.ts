import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UrlSigner } from './url-signer.ts';

describe('UrlSigner', () => {
  const signer = new UrlSigner('a test secret of enough length');
  const claims = { orgId: 'acme', resource: 'live/s-1', expiresAt: 10_000 };

  test('a token verifies for its resource until it expires', () => {
    const token = signer.sign(claims);
    assert.match(token, /^[A-Za-z0-9._-]+$/, 'URL-safe');
    assert.deepEqual(signer.verify(token, 9_999, 'live/s-1'), claims);
    assert.throws(() => signer.verify(token, 10_000, 'live/s-1'), /expired/);
  });

  test('another resource, a changed body, another key or garbage are refused alike', () => {
    const token = signer.sign(claims);
    assert.throws(() => signer.verify(token, 0, 'live/s-2'), { code: 'ICEBERG_ERR_FORBIDDEN' });
    const [v, , mac] = token.split('.');
    const forged = `${v}.${Buffer.from(JSON.stringify(['evil', 'live/s-1', 10_000])).toString('base64url')}.${mac}`;
    assert.throws(() => signer.verify(forged, 0), { code: 'ICEBERG_ERR_FORBIDDEN' });
    assert.throws(() => UrlSigner.random().verify(token, 0), { code: 'ICEBERG_ERR_FORBIDDEN' });
    for (const junk of ['', 'v1', 'v1..', 'x.y.z', 'v1.!!!.abc', 'a'.repeat(5000)]) {
      assert.throws(() => signer.verify(junk, 0), { code: 'ICEBERG_ERR_FORBIDDEN' });
    }
  });
});
