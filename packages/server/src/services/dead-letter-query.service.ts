import { IcebergError } from '@iceberg/common';
import type { DeadLetterFilter, DeadLetterRecord, Page, PageRequest, Store } from '@iceberg/store';

/** A dead letter as the API shows it (always the caller's organisation, so without orgId). */
export interface DeadLetterView {
  id: string;
  topic: string;
  key: string;
  /** The original message (UTF-8, or base64 per `encoding`); cut to 4 KiB in lists. */
  value: string;
  /** True when `value` was cut (lists only): GET the letter for all of it. */
  valueTruncated: boolean;
  encoding: 'utf8' | 'base64';
  headers: Record<string, string>;
  reason: 'invalid' | 'handler_failed';
  error: string;
  group: string;
  at: number;
  replayedAt: number | null;
}

/** Characters of `value` shown in a list: 500 letters of 1 MiB each would be a 500 MiB page. */
export const LIST_VALUE_CHARS = 4096;

export function toDeadLetterView(
  d: DeadLetterRecord,
  maxValueChars = Number.POSITIVE_INFINITY,
): DeadLetterView {
  const truncated = d.value.length > maxValueChars;
  return {
    id: d.id,
    topic: d.topic,
    key: d.key,
    value: truncated ? d.value.slice(0, maxValueChars) : d.value,
    valueTruncated: truncated,
    encoding: d.encoding,
    headers: d.headers,
    reason: d.reason,
    error: d.error,
    group: d.group,
    at: d.at,
    replayedAt: d.replayedAt,
  };
}

/**
 * Dead letters of one organisation, for its admins. Always scoped to the caller's organisation:
 * letters that could not be tied to an organisation are only for the operator of the service
 * (scope 'all'), which this API does not offer.
 */
export class DeadLetterQueryService {
  constructor(private readonly store: Pick<Store, 'deadLetters'>) {}

  /** Newest first; values cut to `LIST_VALUE_CHARS`. */
  async list(orgId: string, filter: DeadLetterFilter, page: PageRequest): Promise<Page<DeadLetterView>> {
    const result = await this.store.deadLetters.list({ orgId }, filter, page);
    return {
      items: result.items.map((d) => toDeadLetterView(d, LIST_VALUE_CHARS)),
      nextCursor: result.nextCursor,
    };
  }

  async count(orgId: string, filter: DeadLetterFilter): Promise<number> {
    return this.store.deadLetters.count({ orgId }, filter);
  }

  /** One letter with its whole value. */
  async get(orgId: string, id: string): Promise<DeadLetterView> {
    const letter = await this.store.deadLetters.get({ orgId }, id);
    if (!letter) throw new IcebergError('ICEBERG_ERR_NOT_FOUND', `no dead letter ${id} in this organisation`);
    return toDeadLetterView(letter);
  }
}
