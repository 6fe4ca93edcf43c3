import pino from 'pino';
import pretty from 'pino-pretty';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The narrow logging interface every module takes; createLogger backs it with pino. */
export interface Logger {
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

/** A Logger that can bind fields (a request id) to every line it writes, and say whether a level is on. */
export interface StructuredLogger extends Logger {
  child(bindings: Record<string, unknown>): StructuredLogger;
  enabled(level: LogLevel): boolean;
  /** Writes one line with these fields (no message detail wrapping): request lines, metrics-like events. */
  event(level: LogLevel, fields: Record<string, unknown>, message: string): void;
  /** Writes out anything buffered; call before process.exit. */
  flush(): void;
}

export interface LoggerOptions {
  /** Where lines go; default stderr, so stdout stays free for CLI output. */
  destination?: NodeJS.WritableStream | pino.DestinationStream;
  /** Human-readable lines (pino-pretty); default: when stderr is a terminal. */
  pretty?: boolean;
}

/**
 * The detail argument as pino fields: an Error under `err` (pino's serializer keeps type, message,
 * stack and a cause), anything else under `detail`, so it never overwrites the line's own fields.
 */
function detailFields(detail: unknown): Record<string, unknown> | undefined {
  if (detail === undefined) return undefined;
  if (detail instanceof Error) return { err: detail };
  return { detail };
}

class PinoLogger implements StructuredLogger {
  constructor(private readonly pino: pino.Logger) {}

  private write(level: LogLevel, message: string, detail: unknown) {
    const fields = detailFields(detail);
    if (fields) this.pino[level](fields, message);
    else this.pino[level](message);
  }

  debug(message: string, detail?: unknown) {
    this.write('debug', message, detail);
  }
  info(message: string, detail?: unknown) {
    this.write('info', message, detail);
  }
  warn(message: string, detail?: unknown) {
    this.write('warn', message, detail);
  }
  error(message: string, detail?: unknown) {
    this.write('error', message, detail);
  }
  child(bindings: Record<string, unknown>): StructuredLogger {
    return new PinoLogger(this.pino.child(bindings));
  }
  enabled(level: LogLevel): boolean {
    return this.pino.isLevelEnabled(level);
  }
  event(level: LogLevel, fields: Record<string, unknown>, message: string): void {
    this.pino[level](fields, message);
  }
  flush(): void {
    this.pino.flush();
  }
}

/**
 * Structured JSON lines (pino) on stderr: `{"level":"info","time":"…","msg":"…", …}`; pretty,
 * coloured lines when stderr is a terminal. Writes are synchronous, so nothing is lost when the
 * process exits right after a line (shutdown, fatal errors).
 */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): StructuredLogger {
  const prettyLines = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
  const destination =
    options.destination ??
    (prettyLines
      ? pretty({ destination: 2, colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l' })
      : pino.destination({ dest: 2, sync: true }));
  return new PinoLogger(
    pino(
      {
        level,
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    ),
  );
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The logger's structured side when it has one (createLogger's), or null for plain Loggers. */
export function structured(logger: Logger): StructuredLogger | null {
  return logger instanceof PinoLogger ? logger : null;
}
