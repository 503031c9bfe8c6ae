import { createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { newId } from '../json.ts';
import type { Schema, SessionKind, SessionsTable } from '../schema.ts';
import { rethrowWriteError } from '../sql-errors.ts';

export type { SessionKind };

export interface SessionRecord {
  id: string;
  orgId: string;
  userId: string;
  kind: SessionKind;
  name: string | null;
  createdAt: number;
  /** null: never expires. */
  expiresAt: number | null;
  lastUsedAt: number | null;
}

export interface CreateSession {
  orgId: string;
  userId: string;
  /** `hashToken(token)`: the bearer token itself is never stored. */
  tokenHash: string;
  /** null: never expires (meant for API tokens). */
  expiresAt: number | null;
  /** Defaults to a random UUID. */
  id?: string;
  kind?: SessionKind;
  /** A label for API tokens ("CI upload"). */
  name?: string | null;
  createdAt?: number;
}

/** The value stored for a bearer token: sha256, lowercase hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const toRecord = (r: Selectable<SessionsTable>): SessionRecord => ({
  id: r.id,
  orgId: r.org_id,
  userId: r.user_id,
  kind: r.kind,
  name: r.name,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
});

export class SessionRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** The hash must be sha256 hex (the table refuses anything else, e.g. a raw token). */
  async create(input: CreateSession): Promise<SessionRecord> {
    try {
      const row = await this.db
        .insertInto('sessions')
        .values({
          org_id: input.orgId,
          id: input.id ?? newId(),
          user_id: input.userId,
          kind: input.kind ?? 'session',
          name: input.name ?? null,
          token_hash: input.tokenHash,
          created_at: input.createdAt ?? Date.now(),
          expires_at: input.expiresAt,
          last_used_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (err) {
      rethrowWriteError(err, 'a session with this token');
    }
  }

  /** The session whose token hashes to `tokenHash`, unless it has expired by `now`. */
  async findValidByHash(tokenHash: string, now: number): Promise<SessionRecord | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Records a use (never moves `lastUsedAt` back); false when there is no such session. */
  async touch(orgId: string, id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set((eb) => ({
        last_used_at: eb.fn('greatest', [eb.fn.coalesce('last_used_at', eb.val(at)), eb.val(at)]),
      }))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** The sessions and API tokens of one user, newest first. */
  async listForUser(orgId: string, userId: string): Promise<SessionRecord[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(500)
      .execute();
    return rows.map(toRecord);
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('sessions')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Deletes every session (of every organisation) expired by `now`; returns how many. */
  async deleteExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
