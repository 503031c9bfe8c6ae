import { IcebergError } from '@iceberg/common';
import { hashToken } from '@iceberg/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api-deps.ts';

export type Role = 'owner' | 'admin' | 'viewer';

/** Who is calling: set on every authenticated request. */
export interface Caller {
  orgId: string;
  userId: string;
  role: Role;
  sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The bearer token of a request: `Authorization: Bearer …`, or `?token=` for WebSocket upgrades only. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return m ? m[1]! : null;
  }
  if (request.headers.upgrade?.toLowerCase() === 'websocket') {
    const token = (request.query as { token?: unknown } | undefined)?.token;
    return typeof token === 'string' ? token : null;
  }
  return null;
}

/**
 * A preHandler that admits only requests with a valid, unexpired token and sets
 * `request.caller`; every tenant query then uses `caller.orgId`, so another organisation's ids
 * simply are not found (404), never forbidden-but-present.
 */
export function authenticate(deps: Pick<ApiDeps, 'store' | 'clock'>) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = bearerToken(request);
    if (!token)
      throw new IcebergError(
        'ICEBERG_ERR_UNAUTHENTICATED',
        'log in first: send Authorization: Bearer <token>',
      );
    const now = deps.clock.now();
    const session = await deps.store.sessions.findValidByHash(hashToken(token), now);
    if (!session)
      throw new IcebergError(
        'ICEBERG_ERR_UNAUTHENTICATED',
        'the token is not valid or has expired: log in again',
      );
    const user = await deps.store.users.get(session.orgId, session.userId);
    if (!user)
      throw new IcebergError('ICEBERG_ERR_UNAUTHENTICATED', 'the user of this token no longer exists');
    request.caller = {
      orgId: session.orgId,
      userId: user.id,
      role: user.role as Role,
      sessionId: session.id,
    };
    void deps.store.sessions.touch(session.orgId, session.id, now).catch(() => undefined);
  };
}

/** The caller of an authenticated route (the preHandler guarantees it). */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new IcebergError('ICEBERG_ERR_UNAUTHENTICATED', 'log in first');
  return request.caller;
}

/** Owners and admins may change things; viewers only look. */
export function requireEditor(request: FastifyRequest): Caller {
  const caller = callerOf(request);
  if (caller.role === 'viewer')
    throw new IcebergError(
      'ICEBERG_ERR_FORBIDDEN',
      'viewers cannot change this: ask an admin of your organisation',
    );
  return caller;
}
