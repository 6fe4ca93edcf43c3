/**
 * Every command-line entry point answers `--help` (or `-h`) the same way: its usage on stdout, exit code 0,
 * before it reads any configuration or touches a database.
 */
export function wantsHelp(argv: readonly string[] = process.argv.slice(2)): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** Prints `usage` and exits 0 when the command line asks for help; otherwise returns. */
export function answerHelp(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (!wantsHelp(argv)) return;
  process.stdout.write(`${usage.trim()}\n`);
  process.exit(0);
}
