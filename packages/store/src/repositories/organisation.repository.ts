import type { Kysely, Selectable } from 'kysely';
import { newId } from '../json.ts';
import type { OrganisationsTable, Schema } from '../schema.ts';
import { rethrowWriteError } from '../sql-errors.ts';

export interface OrganisationRecord {
  id: string;
  name: string;
  createdAt: number;
}

export interface CreateOrganisation {
  /** Defaults to a random UUID. */
  id?: string;
  name: string;
  createdAt?: number;
}

const toRecord = (r: Selectable<OrganisationsTable>): OrganisationRecord => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
});

export class OrganisationRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async create(input: CreateOrganisation): Promise<OrganisationRecord> {
    const id = input.id ?? newId();
    try {
      const row = await this.db
        .insertInto('organisations')
        .values({ id, name: input.name, created_at: input.createdAt ?? Date.now() })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (err) {
      rethrowWriteError(err, `organisation ${id}`);
    }
  }

  async get(id: string): Promise<OrganisationRecord | undefined> {
    const row = await this.db.selectFrom('organisations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRecord(row);
  }
}
