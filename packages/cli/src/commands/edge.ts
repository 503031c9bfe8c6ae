import { parseArgs } from 'node:util';
import { loadConfig } from '@iceberg/config';
import { UsageError } from '../usage-error.ts';
import { runEdge } from './run-edge.ts';

/**
 * `--bus memory|kafka` and `--kafka-brokers HOST:PORT,…` as a config override (brokers alone
 * mean Kafka).
 */
export function busOverride(bus: string | undefined, brokers: string | undefined): Record<string, unknown> {
  if (bus !== undefined && bus !== 'memory' && bus !== 'kafka')
    throw new UsageError(`--bus is memory or kafka, not "${bus}"`);
  if (brokers !== undefined) {
    const list = brokers
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    if (list.length === 0 || list.some((b) => !/^[^\s:]+:\d{1,5}$/.test(b)))
      throw new UsageError(`--kafka-brokers takes HOST:PORT[,HOST:PORT…], not "${brokers}"`);
    if (bus === 'memory') throw new UsageError('--kafka-brokers goes with --bus kafka, not --bus memory');
    return { bus: { type: 'kafka', kafka: { brokers: list } } };
  }
  return bus ? { bus: { type: bus } } : {};
}

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
      'kafka-brokers': { type: 'string' },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`edge takes no positional arguments (got "${positionals[0]}")`);
  const bus = busOverride(values.bus, values['kafka-brokers']);
  const flagCameras = (values.camera ?? []).map(parseCameraFlag);
  // Cameras from flags replace the file's camera of the same id, or are added.
  const fromFile = loadConfig({ file: values.config, env: process.env, overrides: bus });
  const cameras = [
    ...fromFile.cameras.filter((c) => !flagCameras.some((f) => f.id === c.id)),
    ...flagCameras,
  ];
  const config = loadConfig({
    file: values.config,
    env: process.env,
    overrides: { cameras, ...bus },
  });
  return runEdge(config);
}
