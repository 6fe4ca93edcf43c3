export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** One line per event on stderr, so stdout stays free for CLI output. */
export function createLogger(
  level: LogLevel,
  sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
) {
  const log = (at: LogLevel) => (message: string, detail?: unknown) => {
    if (ORDER[at] < ORDER[level]) return;
    const suffix =
      detail === undefined
        ? ''
        : ` ${detail instanceof Error ? (detail.stack ?? detail.message) : JSON.stringify(detail)}`;
    sink(`${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} ${message}${suffix}`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } satisfies Logger;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
