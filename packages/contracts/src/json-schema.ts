import { z } from 'zod';
import { topics } from './topics.ts';

/** JSON Schema (draft 2020-12) of every wire message, by schema name, for non-TypeScript consumers. */
export function exportJsonSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of Object.values(topics)) {
    out[spec.schemaName] = {
      $id: `https://iceberg.dev/schemas/${spec.schemaName}.json`,
      ...z.toJSONSchema(spec.schema, { io: 'input' }),
    };
  }
  return out;
}
