import type { Kysely, Selectable } from 'kysely';
import { newId } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { Schema, UserRole, UsersTable } from '../schema.ts';
import { rethrowWriteError } from '../sql-errors.ts';

export type { UserRole };

export interface UserRecord {
  id: string;
  orgId: string;
  email: string;
  name: string;
  role: UserRole;
  createdAt: number;
}

/** Only for logging in: the one read that returns the password hash. */
export interface UserWithPasswordHash extends UserRecord {
  passwordHash: string;
}

export interface CreateUser {
  orgId: string;
  /** Defaults to a random UUID. */
  id?: string;
  email: string;
  name: string;
  role: UserRole;
  /** An argon2 (or similar) hash, never the password. */
  passwordHash: string;
  createdAt?: number;
}

const toRecord = (r: Selectable<UsersTable>): UserRecord => ({
  id: r.id,
  orgId: r.org_id,
  email: r.email,
  name: r.name,
  role: r.role,
  createdAt: r.created_at,
});

const CURSOR = 'users';

export class UserRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** Throws ICEBERG_ERR_CONFLICT when the e-mail address is taken (in any organisation). */
  async create(input: CreateUser): Promise<UserRecord> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({
          org_id: input.orgId,
          id: input.id ?? newId(),
          email: input.email,
          name: input.name,
          role: input.role,
          password_hash: input.passwordHash,
          created_at: input.createdAt ?? Date.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (err) {
      rethrowWriteError(err, `a user with the e-mail address ${input.email}`);
    }
  }

  /** Across all organisations (log-in), case-insensitive. */
  async findByEmail(email: string): Promise<UserWithPasswordHash | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['email']), '=', eb.fn('lower', [eb.val(email)])))
      .executeTakeFirst();
    return row && { ...toRecord(row), passwordHash: row.password_hash };
  }

  async get(orgId: string, id: string): Promise<UserRecord | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Oldest first. */
  async list(orgId: string, page: PageRequest = {}): Promise<Page<UserRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.db.selectFrom('users').selectAll().where('org_id', '=', orgId);
    if (page.cursor) {
      const [at, id] = decodeCursor(CURSOR, page.cursor, ['number', 'string']) as [number, string];
      q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(at, id)));
    }
    const rows = await q
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toRecord, (r) => encodeCursor(CURSOR, [r.created_at, r.id]));
  }
}
