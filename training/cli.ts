import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagValues = Record<string, string | boolean | undefined>;

export function parseFlags(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
): FlagValues {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
      .values as FlagValues;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function numberFlag(values: FlagValues, name: string, fallback: number): number {
  const raw = stringFlag(values, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value))
    throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return value;
}

export function integerFlag(values: FlagValues, name: string, fallback: number, min = -Infinity): number {
  const value = numberFlag(values, name, fallback);
  if (!Number.isInteger(value) || value < min)
    throw new UsageError(`--${name} must be an integer${min > -Infinity ? ` ≥ ${min}` : ''}, got ${value}`);
  return value;
}

/**
 * Runs a CLI entry point: `--help` / `-h` prints the usage on stdout and exits 0 without running it; usage
 * errors exit 2 with usage, anything else exits 1 with its message.
 */
export function runCli(main: (argv: string[]) => Promise<void>, usage: string): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  main(argv).catch((error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${usage}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  });
}
