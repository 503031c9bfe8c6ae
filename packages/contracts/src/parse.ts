import { IcebergError } from '@iceberg/common';
import type { z } from 'zod';
import { type TopicMessage, type TopicName, topics } from './topics.ts';

/** Where a value failed its schema, as `path: problem` lines a person can read. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses a decoded JSON value as a message of `topic`; never throws. */
export function parseMessage<T extends TopicName>(topic: T, value: unknown): ParseResult<TopicMessage<T>> {
  const result = topics[topic].schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data as TopicMessage<T> };
  return { ok: false, error: describeIssues(result.error) };
}

/** Parses raw bytes (UTF-8 JSON) as a message of `topic`; never throws. */
export function decodeMessage<T extends TopicName>(
  topic: T,
  raw: Uint8Array | string,
): ParseResult<TopicMessage<T>> {
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  return parseMessage(topic, value);
}

/** Validates a message before it is sent; a producer bug is an error, never a bad message on the wire. */
export function assertMessage<T extends TopicName>(topic: T, value: TopicMessage<T>): TopicMessage<T> {
  const result = parseMessage(topic, value);
  if (!result.ok)
    throw new IcebergError(
      'ICEBERG_ERR_MESSAGE_INVALID',
      `invalid ${topics[topic].schemaName} message: ${result.error}`,
    );
  return result.value;
}
