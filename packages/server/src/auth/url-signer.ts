import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { IcebergError } from '@iceberg/common';

/**
 * Signed, expiring capability tokens for media URLs that a browser fetches without headers
 * (an HLS playlist and its segments, a WebSocket, a download link). A token names the
 * organisation, the resource it opens (e.g. `live/<streamId>` or `recording/<cameraId>/<from>-<to>`)
 * and its expiry, and is HMAC-SHA256-signed with the server's media secret. It is URL-safe and
 * goes in the path, so that relative URLs inside a playlist keep it.
 */
export interface SignedClaims {
  orgId: string;
  /** What the token opens: compared for equality by the verifier. */
  resource: string;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

const VERSION = 'v1';

export class UrlSigner {
  readonly #key: Buffer;

  constructor(secret: Buffer | string) {
    const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (key.length < 16) throw new Error('the media URL secret must be at least 16 bytes');
    this.#key = key;
  }

  /** A signer with a random key: tokens die with the process (tests, or a single process). */
  static random(): UrlSigner {
    return new UrlSigner(randomBytes(32));
  }

  sign(claims: SignedClaims): string {
    const body = Buffer.from(
      JSON.stringify([claims.orgId, claims.resource, claims.expiresAt]),
      'utf8',
    ).toString('base64url');
    return `${VERSION}.${body}.${this.#mac(body)}`;
  }

  /**
   * The claims of a valid, unexpired token for `resource` (when given); otherwise
   * ICEBERG_ERR_FORBIDDEN. Every failure reads the same to the caller.
   */
  verify(token: string, now: number, resource?: string): SignedClaims {
    const refuse = () =>
      new IcebergError('ICEBERG_ERR_FORBIDDEN', 'this media link is not valid or has expired');
    if (typeof token !== 'string' || token.length > 2048) throw refuse();
    const [version, body, mac] = token.split('.');
    if (version !== VERSION || !body || !mac) throw refuse();
    const expected = Buffer.from(this.#mac(body), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw refuse();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw refuse();
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) throw refuse();
    const [orgId, res, expiresAt] = parsed as [unknown, unknown, unknown];
    if (typeof orgId !== 'string' || typeof res !== 'string' || typeof expiresAt !== 'number') throw refuse();
    if (expiresAt <= now) throw refuse();
    if (resource !== undefined && res !== resource) throw refuse();
    return { orgId, resource: res, expiresAt };
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(VERSION).update('.').update(body).digest('base64url');
  }
}
