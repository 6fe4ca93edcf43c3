import path from 'node:path';

/**
 * The file a worker thread runs, `name` beside the caller in `directory`: plain JavaScript when this
 * code is compiled, TypeScript otherwise. A worker thread does not inherit the parent's require
 * hooks, so under TypeScript it gets the same swc-node hook (resolved from here, so the process's
 * working directory does not matter).
 */
export function workerEntry(directory: string, name: string): { file: string; execArgv?: string[] } {
  if (path.extname(__filename) === '.ts')
    return {
      file: path.join(directory, `${name}.ts`),
      execArgv: ['-r', require.resolve('@swc-node/register')],
    };
  return { file: path.join(directory, `${name}.js`) };
}
