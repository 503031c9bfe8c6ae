import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../schema.ts';

/**
 * Secrets the server instances share, generated once and kept in the database (e.g. the key that
 * signs media URLs), so that signed links survive a restart and work on every instance.
 */
export class SecretRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /**
   * The secret `name`; created (32 random bytes, base64url, unless `generate` says otherwise) on
   * first use. Safe when several instances ask at once: the first insert wins and everyone reads it.
   */
  async getOrCreate(
    name: string,
    generate: () => string = () => randomBytes(32).toString('base64url'),
    now: number = Date.now(),
  ): Promise<string> {
    await this.db
      .insertInto('server_secrets')
      .values({ name, value: generate(), created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('server_secrets')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return row.value;
  }
}
