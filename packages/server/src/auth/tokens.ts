import { createHash, randomBytes } from 'node:crypto';

/** A new bearer token (shown to the client once) and the hash that is stored in its place. */
export function newToken(): { token: string; hash: string } {
  const token = `ice_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
