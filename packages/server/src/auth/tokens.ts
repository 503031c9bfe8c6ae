import { randomBytes } from 'node:crypto';
import { hashToken } from '@iceberg/store';

/** A new bearer token (shown to the client once) and the hash that is stored in its place. */
export function newToken(): { token: string; hash: string } {
  const token = `ice_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}
