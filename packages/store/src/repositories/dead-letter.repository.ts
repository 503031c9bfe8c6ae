import type { DeadLetterV1 } from '@iceberg/contracts';
import type { Kysely, Selectable, SelectQueryBuilder } from 'kysely';
import { newId, toJson } from '../json.ts';
import { decodeCursor, encodeCursor, type Page, type PageRequest, pageLimit, toPage } from '../pagination.ts';
import type { DeadLettersTable, Schema } from '../schema.ts';

/** A parked message: `dead-letter.v1` without its schema tag, plus id, organisation and replay time. */
export interface DeadLetterRecord extends Omit<DeadLetterV1, 'schema'> {
  id: string;
  /** The organisation the message belonged to, when it could be told (an invalid message may not say). */
  orgId: string | null;
  replayedAt: number | null;
}

export type DeadLetterInput = Omit<DeadLetterV1, 'schema'> & { schema?: DeadLetterV1['schema'] };

/**
 * Whose dead letters: one organisation's (an organisation admin), or every one including those
 * without an organisation ('all': the operator of the service). There is no default on purpose.
 */
export type DeadLetterScope = { orgId: string } | 'all';

export interface DeadLetterFilter {
  topic?: string;
  /** true: only replayed ones; false: only those still waiting. */
  replayed?: boolean;
}

const toRecord = (r: Selectable<DeadLettersTable>): DeadLetterRecord => ({
  id: r.id,
  orgId: r.org_id,
  topic: r.topic,
  key: r.key,
  value: r.value,
  encoding: r.encoding,
  headers: r.headers,
  reason: r.reason,
  error: r.error,
  group: r.consumer_group,
  at: r.at,
  replayedAt: r.replayed_at,
});

const CURSOR = 'dead-letters';

export class DeadLetterRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(
    letter: DeadLetterInput,
    orgId: string | null,
    id: string = newId(),
  ): Promise<DeadLetterRecord> {
    const row = await this.db
      .insertInto('dead_letters')
      .values({
        id,
        org_id: orgId,
        topic: letter.topic,
        key: letter.key,
        value: letter.value,
        encoding: letter.encoding,
        headers: toJson(letter.headers),
        reason: letter.reason,
        error: letter.error,
        consumer_group: letter.group,
        at: letter.at,
        replayed_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  private scoped<O>(
    q: SelectQueryBuilder<Schema, 'dead_letters', O>,
    scope: DeadLetterScope,
    filter: DeadLetterFilter,
  ): SelectQueryBuilder<Schema, 'dead_letters', O> {
    let r = scope === 'all' ? q : q.where('org_id', '=', scope.orgId);
    if (filter.topic !== undefined) r = r.where('topic', '=', filter.topic);
    if (filter.replayed !== undefined) r = r.where('replayed_at', filter.replayed ? 'is not' : 'is', null);
    return r;
  }

  async get(scope: DeadLetterScope, id: string): Promise<DeadLetterRecord | undefined> {
    const row = await this.scoped(this.db.selectFrom('dead_letters').selectAll(), scope, {})
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Newest first. */
  async list(
    scope: DeadLetterScope,
    filter: DeadLetterFilter = {},
    page: PageRequest = {},
  ): Promise<Page<DeadLetterRecord>> {
    const limit = pageLimit(page.limit);
    let q = this.scoped(this.db.selectFrom('dead_letters').selectAll(), scope, filter);
    if (page.cursor) {
      const [at, id] = decodeCursor(CURSOR, page.cursor, ['number', 'string']) as [number, string];
      q = q.where((eb) => eb(eb.refTuple('at', 'id'), '<', eb.tuple(at, id)));
    }
    const rows = await q
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toRecord, (r) => encodeCursor(CURSOR, [r.at, r.id]));
  }

  async count(scope: DeadLetterScope, filter: DeadLetterFilter = {}): Promise<number> {
    const row = await this.scoped(
      this.db.selectFrom('dead_letters').select((eb) => eb.fn.countAll<number>().as('n')),
      scope,
      filter,
    ).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Marks a letter replayed (keeps the first replay time); false when there is no such letter. */
  async markReplayed(scope: DeadLetterScope, id: string, at: number): Promise<boolean> {
    let q = this.db
      .updateTable('dead_letters')
      .set((eb) => ({ replayed_at: eb.fn.coalesce('replayed_at', eb.val(at)) }))
      .where('id', '=', id);
    if (scope !== 'all') q = q.where('org_id', '=', scope.orgId);
    const result = await q.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
