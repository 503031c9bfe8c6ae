/**
 * Keyset pagination: a list returns at most `limit` items (≤ 500) and an opaque cursor that
 * encodes the sort key of the last item; the next page starts strictly after it. Unlike an offset,
 * a cursor never skips or repeats a row when rows are added in front of it.
 */
import { IcebergError } from '@iceberg/common';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 500;

export interface PageRequest {
  /** 1..500, default 100; larger values are capped at 500. */
  limit?: number;
  /** The `nextCursor` of the previous page; absent for the first page. */
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  /** Pass it back as `cursor` for the next page; null when this is the last page. */
  nextCursor: string | null;
}

export type CursorValue = string | number | boolean | null;

/** The effective page size of a request. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new IcebergError(
      'ICEBERG_ERR_INPUT_INVALID',
      `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`,
      {
        details: { limit },
      },
    );
  }
  return Math.min(limit, MAX_PAGE_LIMIT);
}

/** An opaque cursor for the list `kind` positioned after the row whose sort key is `key`. */
export function encodeCursor(kind: string, key: readonly CursorValue[]): string {
  return Buffer.from(JSON.stringify([kind, ...key]), 'utf8').toString('base64url');
}

/**
 * The sort key inside a cursor made by `encodeCursor(kind, …)`; `types` is the expected type of
 * each key part ('string' | 'number' | 'boolean', with a trailing '?' when it may be null).
 */
export function decodeCursor(kind: string, cursor: string, types: readonly string[]): CursorValue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === types.length + 1 &&
    parsed[0] === kind &&
    types.every((t, i) => {
      const v: unknown = parsed[i + 1];
      if (v === null) return t.endsWith('?');
      // Values go into SQL comparisons: only safe integers and NUL-free strings.
      if (typeof v === 'number') return t.replace('?', '') === 'number' && Number.isSafeInteger(v);
      if (typeof v === 'string')
        return t.replace('?', '') === 'string' && !v.includes('\0') && v.length <= 512;
      return false;
    });
  if (!ok) {
    throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', 'the cursor is not valid for this list', {
      details: { cursor },
    });
  }
  return (parsed as CursorValue[]).slice(1);
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only tells that there is more.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
  cursorOf: (row: R) => string,
): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { items: pageRows.map(map), nextCursor: more && last !== undefined ? cursorOf(last) : null };
}
