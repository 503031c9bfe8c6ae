import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IcebergError } from '@iceberg/common';
import {
  DEFAULT_PAGE_LIMIT,
  decodeCursor,
  encodeCursor,
  MAX_PAGE_LIMIT,
  pageLimit,
  toPage,
} from './pagination.ts';

const invalid = (err: unknown) => err instanceof IcebergError && err.code === 'ICEBERG_ERR_INPUT_INVALID';

describe('pagination', () => {
  test('limits: default 100, capped at 500, nonsense refused', () => {
    assert.equal(pageLimit(undefined), DEFAULT_PAGE_LIMIT);
    assert.equal(pageLimit(1), 1);
    assert.equal(pageLimit(10_000), MAX_PAGE_LIMIT);
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => pageLimit(bad), invalid, String(bad));
  });

  test('a cursor round-trips its key and is opaque', () => {
    const c = encodeCursor('alerts', [1_764_000_000_000, 'a/b "c"']);
    assert.match(c, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor('alerts', c, ['number', 'string']), [1_764_000_000_000, 'a/b "c"']);
  });

  test('a cursor of another list, of another shape or not a cursor at all is refused', () => {
    const c = encodeCursor('alerts', [1, 'x']);
    assert.throws(() => decodeCursor('tracks', c, ['number', 'string']), invalid);
    assert.throws(() => decodeCursor('alerts', c, ['string', 'string']), invalid);
    assert.throws(() => decodeCursor('alerts', c, ['number']), invalid);
    assert.throws(() => decodeCursor('alerts', 'not a cursor', ['number', 'string']), invalid);
    assert.throws(() => decodeCursor('alerts', '', ['number', 'string']), invalid);
    assert.deepEqual(decodeCursor('x', encodeCursor('x', [null]), ['string?']), [null]);
  });

  test('toPage keeps `limit` rows and gives a cursor only when there are more', () => {
    const rows = [1, 2, 3];
    assert.deepEqual(
      toPage(
        rows,
        2,
        (r) => r * 10,
        (r) => `after-${r}`,
      ),
      { items: [10, 20], nextCursor: 'after-2' },
    );
    assert.deepEqual(
      toPage(rows, 3, (r) => r, String),
      { items: [1, 2, 3], nextCursor: null },
    );
    assert.deepEqual(
      toPage([], 3, (r) => r, String),
      { items: [], nextCursor: null },
    );
  });
  test('a forged cursor with a huge or fractional number, or a NUL in a string, is refused before any SQL', () => {
    const forge = (value: unknown[]) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const bad of [
      ['t', 1e300, 'a'],
      ['t', 1.5, 'a'],
      ['t', 5, 'a\u0000b'],
    ]) {
      assert.throws(() => decodeCursor('t', forge(bad), ['number', 'string']), /cursor is not valid/);
    }
    assert.deepEqual(decodeCursor('t', forge(['t', 5, 'a']), ['number', 'string']), [5, 'a']);
  });
});
