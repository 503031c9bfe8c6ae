import { parseArgs } from 'node:util';
import { loadConfig } from '@iceberg/config';
import { UsageError } from '../usage-error.ts';
import { runEdge } from './run-edge.ts';

/** `--camera NAME=INPUT` → a camera; NAME becomes its id. */
export function parseCameraFlag(value: string): { id: string; input: string } {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--camera takes NAME=INPUT, not "${value}"`);
  return { id: value.slice(0, eq), input: value.slice(eq + 1) };
}

export async function edgeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      camera: { type: 'string', multiple: true },
      bus: { type: 'string' },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`edge takes no positional arguments (got "${positionals[0]}")`);
  if (values.bus !== undefined && values.bus !== 'memory' && values.bus !== 'kafka')
    throw new UsageError(`--bus is memory or kafka, not "${values.bus}"`);
  const flagCameras = (values.camera ?? []).map(parseCameraFlag);
  // Cameras from flags replace the file's camera of the same id, or are added.
  const fromFile = loadConfig({ file: values.config, env: process.env });
  const cameras = [
    ...fromFile.cameras.filter((c) => !flagCameras.some((f) => f.id === c.id)),
    ...flagCameras,
  ];
  const config = loadConfig({
    file: values.config,
    env: process.env,
    overrides: { cameras, ...(values.bus ? { bus: { type: values.bus } } : {}) },
  });
  return runEdge(config);
}
