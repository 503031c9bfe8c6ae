import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IcebergError } from '@iceberg/common';
import { loadConfig } from '@iceberg/config';
import { repoRoot } from '../repo-root.ts';
import { runEdge } from './run-edge.ts';

/**
 * The all-in-one demo. For now: the edge agent on the sample footage, looped as a live camera,
 * printing what it sees. (The server, web app and live view join it as they are built.)
 */
export async function demoCommand(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {} });
  const root = repoRoot();
  const sample = join(root, 'assets/samples/vtest.mp4');
  if (!existsSync(sample))
    throw new IcebergError(
      'ICEBERG_ERR_CONFIG_INVALID',
      `the sample footage ${sample} is missing: run "bash scripts/setup.sh"`,
    );
  const config = loadConfig({
    env: process.env,
    baseDir: root,
    overrides: {
      dataDir: process.env.ICEBERG_DATA_DIR ?? join(root, 'data/demo'),
      log: { level: process.env.ICEBERG_LOG_LEVEL ?? 'warn' },
      cameras: [
        { id: 'demo', name: 'Sample footage (OpenCV vtest)', input: sample, loop: true, realtime: true },
      ],
    },
  });
  process.stdout.write(
    `Iceberg demo: one camera looping ${sample} at its own rate, detecting people and vehicles at 2 fps.\n` +
      `Snapshots: ${config.dataDir}/snapshots. Stop with Ctrl-C.\n\n`,
  );
  return runEdge(config);
}
