/**
 * zod schemas shared by the list routes (events, alerts, dead letters): pagination, instants,
 * identifiers in paths and the error body. Everything a client can send is checked here, so a
 * hostile value is a 400 naming the parameter, never a database error.
 */
import { Id } from '@iceberg/contracts';
import { MAX_PAGE_LIMIT } from '@iceberg/store';
import { z } from 'zod';

/** The body of every error response (see error-handler.ts). */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'ICEBERG_ERR_NOT_FOUND' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ description: 'An error: a stable code and a message a person can read' });

/** Error responses of an authenticated route, for the OpenAPI document. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
} as const;

/** Text without control characters (PostgreSQL refuses NUL; nothing we store has the others). */
export const SafeText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');

/** Camera and track ids: the identifiers of the wire contracts. */
export const IdParam = Id;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Milliseconds of an instant given as epoch milliseconds or ISO 8601, or null when it is neither. */
export function parseInstant(text: string): number | null {
  if (/^\d{1,15}$/.test(text)) {
    const n = Number(text);
    return n <= LATEST ? n : null;
  }
  const m = ISO_DATE.exec(text);
  if (!m) return null;
  const [, y, mo, d] = m.map(Number) as [number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  const t = Date.parse(text);
  return Number.isFinite(t) && t >= 0 && t <= LATEST ? t : null;
}

/**
 * An instant in a query string: epoch milliseconds (`1764000000000`) or ISO 8601 with an offset
 * (`2026-11-25T10:00:00Z`, `2026-11-25T11:00:00+01:00`) or a date (`2026-11-25`, midnight UTC).
 */
export const Instant = z
  .string()
  .max(40)
  .transform((text, ctx) => {
    const t = parseInstant(text);
    if (t === null) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected epoch milliseconds or an ISO 8601 date-time with an offset, e.g. 2026-11-25T10:00:00Z',
      });
      return z.NEVER;
    }
    return t;
  })
  .meta({
    description: 'Epoch milliseconds, or ISO 8601 (`2026-11-25T10:00:00Z`; a date alone is midnight UTC)',
    examples: ['1764000000000', '2026-11-25T10:00:00Z'],
  });

/** `true` or `false` in a query string. */
export const BooleanParam = z.enum(['true', 'false']).transform((v) => v === 'true');

/** A page size: 1..500. */
export const Limit = z
  .string()
  .regex(/^\d{1,4}$/, 'expected a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1).max(MAX_PAGE_LIMIT))
  .meta({ description: `Items per page, 1 to ${MAX_PAGE_LIMIT} (default 100)` });

/**
 * A cursor (`nextCursor` of the previous page). Opaque to clients; here its parts are checked
 * (safe integers, text without NUL) so that a forged cursor is a 400, not a database error. The
 * store checks that it belongs to the list.
 */
export const Cursor = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[A-Za-z0-9_-]+$/, 'not a cursor of this API')
  .refine(cursorPartsAreSafe, 'the cursor is not valid for this list')
  .meta({ description: 'The `nextCursor` of the previous page' });

function cursorPartsAreSafe(cursor: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  return (
    Array.isArray(parsed) &&
    parsed.every(
      (v: unknown) =>
        v === null ||
        typeof v === 'boolean' ||
        (typeof v === 'number' && Number.isSafeInteger(v)) ||
        (typeof v === 'string' && v.length <= 512 && !v.includes('\u0000')),
    )
  );
}

/** `limit` and `cursor`. */
export const pageQuery = { limit: Limit.optional(), cursor: Cursor.optional() };

/** A `from`/`to` pair must not be reversed. */
export function rangeInOrder(q: { from?: number | undefined; to?: number | undefined }): boolean {
  return q.from === undefined || q.to === undefined || q.from <= q.to;
}
export const rangeError = { message: 'from must not be after to', path: ['from'] };

/** A page of `item`. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass it as `cursor` for the next page; null on the last page' }),
  });
