import { z } from 'zod';
import { EpochMs } from './common.ts';

/**
 * `dead-letter.v1`: a message that could not be processed (it failed its schema, or its handler
 * kept failing). Parked with its original bytes so an admin can see, fix and replay it.
 */
export const DeadLetterV1 = z
  .object({
    schema: z.literal('dead-letter.v1'),
    /** The topic (without prefix) the message came from. */
    topic: z.string().max(255),
    key: z.string().max(1024),
    /** The original value as text (UTF-8, or base64 when it was not valid UTF-8). */
    value: z.string().max(1_048_576),
    encoding: z.enum(['utf8', 'base64']),
    headers: z.record(z.string(), z.string()),
    reason: z.enum(['invalid', 'handler_failed']),
    error: z.string().max(2000),
    /** The consumer group that gave up on it. */
    group: z.string().max(255),
    at: EpochMs,
  })
  .strict();
export type DeadLetterV1 = z.infer<typeof DeadLetterV1>;
