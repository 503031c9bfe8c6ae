import { IcebergError } from '@iceberg/common';

/** SQLSTATE of a driver error (`pg` and PGlite both expose it as `code`). */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function constraintOf(err: unknown): string | undefined {
  const c = (err as { constraint?: unknown } | null)?.constraint;
  return typeof c === 'string' ? c : undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
export const CHECK_VIOLATION = '23514';

/**
 * Turns a constraint violation on write into an IcebergError a user can act on; rethrows
 * anything else unchanged. `what` names the thing written ("camera front-door").
 */
export function rethrowWriteError(err: unknown, what: string): never {
  const state = sqlState(err);
  if (state === UNIQUE_VIOLATION) {
    throw new IcebergError('ICEBERG_ERR_CONFLICT', `${what} already exists`, {
      cause: err,
      details: { constraint: constraintOf(err) },
    });
  }
  if (state === FOREIGN_KEY_VIOLATION) {
    throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', `${what} refers to something that does not exist`, {
      cause: err,
      details: { constraint: constraintOf(err) },
    });
  }
  if (state === CHECK_VIOLATION) {
    throw new IcebergError('ICEBERG_ERR_INPUT_INVALID', `${what} is not valid`, {
      cause: err,
      details: { constraint: constraintOf(err) },
    });
  }
  throw err;
}
