#!/usr/bin/env node
import { IcebergError, isIcebergError } from '@iceberg/common';
import { UsageError } from './usage-error.ts';

const usage = `iceberg — an open smart DVR

Usage:
  iceberg detect INPUT [--fps N] [--json] [--annotate OUT.mp4] [--classes a,b] [--min-score S] [--motion]
  iceberg edge --config FILE [--camera NAME=INPUT ...] [--bus memory|kafka] [--kafka-brokers HOST:PORT,...]
  iceberg server --config FILE [--port P] [--bus memory|kafka] [--kafka-brokers HOST:PORT,...]
  iceberg demo [--port P] [--file | --rtsp]
  iceberg convert --input INPUT --name NAME [--port 8554] [--host 0.0.0.0|127.0.0.1] [--loop]
  iceberg restream [--config FILE] [--port P] [--rtmp-port P] [--stream NAME ...] [--hours H]
  iceberg help | version

INPUT is anything ffmpeg reads: a file, rtsp://, rtmp://, http(s)://, /dev/videoN.
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  detect: async () => (await import('./commands/detect.ts')).detectCommand,
  edge: async () => (await import('./commands/edge.ts')).edgeCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  server: async () => (await import('./commands/server.ts')).serverCommand,
  convert: async () => (await import('./commands/convert.ts')).convertCommand,
  restream: async () => (await import('./commands/restream.ts')).restreamCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage);
    return name ? 0 : 2;
  }
  if (name === 'version' || name === '--version') {
    process.stdout.write('iceberg 0.1.0\n');
    return 0;
  }
  const load = commands[name];
  if (!load) throw new UsageError(`unknown command "${name}"`);
  return (await load())(rest);
}

/**
 * A command that failed ends the process, once the message is written: cameras, recorders or
 * timers it had started must not run on half-started (their ffmpeg children die with it).
 */
function fail(message: string, code: number): void {
  process.exitCode = code;
  process.stderr.write(message, () => process.exit(code));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      fail(`iceberg: ${err.message}\n\n${usage}`, 2);
    } else if (isIcebergError(err)) {
      fail(`iceberg: ${err.code}: ${err.message}\n`, 1);
    } else {
      const wrapped = new IcebergError('ICEBERG_ERR_INTERNAL', (err as Error)?.stack ?? String(err));
      fail(`iceberg: ${wrapped.code}: ${wrapped.message}\n`, 1);
    }
  },
);
