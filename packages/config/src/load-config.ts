import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { IcebergError } from '@iceberg/common';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { IcebergConfig } from './schema.ts';

export interface LoadConfigOptions {
  /** YAML file; none means defaults plus environment. */
  file?: string | undefined;
  /** The process environment (the only place Iceberg reads it). */
  env?: NodeJS.ProcessEnv;
  /** Applied last (command-line flags), as a partial config tree. */
  overrides?: Record<string, unknown>;
  /** Base for relative paths (dataDir, detector.model); default: the current directory. */
  baseDir?: string;
}

/** Environment variables that override the file, and the key each sets. */
export const envOverrides: Record<string, (value: string) => Record<string, unknown>> = {
  ICEBERG_ORG: (v) => ({ org: v }),
  ICEBERG_DEVICE_ID: (v) => ({ device: { id: v } }),
  ICEBERG_DATA_DIR: (v) => ({ dataDir: v }),
  ICEBERG_LOG_LEVEL: (v) => ({ log: { level: v } }),
  ICEBERG_BUS: (v) => ({ bus: { type: v } }),
  ICEBERG_KAFKA_BROKERS: (v) => ({ bus: { kafka: { brokers: v.split(',').map((s) => s.trim()) } } }),
  ICEBERG_MODEL_PATH: (v) => ({ detector: { model: v } }),
  ICEBERG_DETECTOR_THREADS: (v) => ({ detector: { threads: Number(v) } }),
  FFMPEG_PATH: (v) => ({ ffmpegPath: v }),
  DATABASE_URL: (v) => ({ server: { databaseUrl: v } }),
  ICEBERG_HOST: (v) => ({ server: { host: v } }),
  ICEBERG_PORT: (v) => ({ server: { port: Number(v) } }),
  ICEBERG_PUBLIC_URL: (v) => ({ server: { publicUrl: v } }),
  ICEBERG_ADMIN_EMAIL: (v) => ({ server: { admin: { email: v } } }),
  ICEBERG_ADMIN_PASSWORD: (v) => ({ server: { admin: { password: v } } }),
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars from `b` replace those of `a`. */
export function mergeConfig(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeConfig(prev, v) : v;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** `cameras.1.input: Required` style lines, one per problem. */
export function formatConfigIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const path =
      issue.path.length > 0
        ? issue.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '')
        : '(top level)';
    let message = issue.message;
    if (issue.code === 'unrecognized_keys')
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `  ${path}: ${message}`;
  });
  return `invalid configuration (${source}):\n${lines.join('\n')}`;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_NOT_FOUND',
      `cannot read config file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      `invalid configuration (${file}): YAML syntax: ${e.message.split('\n')[0]}`,
    );
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value))
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      `invalid configuration (${file}): the top level must be a mapping of keys`,
    );
  return value;
}

/**
 * Reads the YAML file, applies environment overrides and then command-line overrides, checks
 * the whole tree strictly and returns it frozen. Errors name the key and what is wrong.
 */
export function loadConfig(options: LoadConfigOptions = {}): IcebergConfig {
  const env = options.env ?? {};
  let tree: Record<string, unknown> = options.file ? readYaml(options.file) : {};
  for (const [name, apply] of Object.entries(envOverrides)) {
    const v = env[name];
    if (v !== undefined && v !== '') tree = mergeConfig(tree, apply(v));
  }
  if (options.overrides) tree = mergeConfig(tree, options.overrides);
  const result = IcebergConfig.safeParse(tree);
  if (!result.success) {
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      formatConfigIssues(result.error, options.file ?? 'defaults and environment'),
      {
        details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
      },
    );
  }
  const config = result.data;
  const base = options.baseDir ?? process.cwd();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return deepFreeze({
    ...config,
    dataDir: abs(config.dataDir),
    detector: { ...config.detector, model: abs(config.detector.model) },
  });
}
