import { randomUUID } from 'node:crypto';

/**
 * JSON text for a jsonb parameter. Both drivers pass a string through unchanged, whereas `pg`
 * would turn a JS array into a PostgreSQL array literal: so jsonb values always travel as text.
 */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('value cannot be stored as JSON');
  return text;
}

export function toJsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : toJson(value);
}

/** A new random id for rows the server creates (organisations, users, sessions, alerts…). */
export function newId(): string {
  return randomUUID();
}
