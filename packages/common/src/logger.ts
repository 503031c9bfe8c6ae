import { type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where log lines go: stderr by default, so that stdout stays free for data (e.g. `--json`). */
  destination?: number;
  name?: string;
}

/** The one way Iceberg makes a logger: JSON lines (pino) on stderr. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { name: options.name ?? 'iceberg', level: options.level ?? 'info', base: undefined },
    pino.destination({ fd: options.destination ?? 2, sync: true }),
  );
}

/** A logger that drops everything: for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
