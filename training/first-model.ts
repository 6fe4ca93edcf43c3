import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { FirstModelResult, FirstModelTraining } from '../src/composition/trainer';
import { PROGRESS_MARKER, RESULT_MARKER } from './train-database-cli';

export type { FirstModelTraining } from '../src/composition/trainer';

/**
 * The first model, trained in a child process while the server serves STATISTICAL: the SGD sweeps
 * would otherwise hold the server's event loop for seconds at a time (an epoch at 25M ratings is
 * ~25 s), and an out-of-memory in the child is a failed training the server reports, not a crash
 * that every restart repeats.
 */
/** How the training's connections are named in pg_stat_activity. */
export const TRAINING_APPLICATION_NAME = 'cinegraph training';

function withApplicationName(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.searchParams.has('application_name'))
      parsed.searchParams.set('application_name', TRAINING_APPLICATION_NAME);
    return parsed.toString();
  } catch {
    return url;
  }
}

/** V8 heap of the child: the ratings live in typed arrays outside it, row batches and metadata inside. */
export const FIRST_MODEL_HEAP_MB = 2048;

/**
 * The training child's node flags: the server's, but its own heap limit, and without the heap
 * growth the server runs with (SERVER_NODE_FLAGS), which trades memory for fewer full collections
 * while serving; the training's memory is what its budget bounds.
 */
export function trainingChildFlags(parentFlags: readonly string[], isTypeScript: boolean): string[] {
  return [
    ...parentFlags.filter(
      (arg) => !arg.startsWith('--max-old-space-size') && !arg.startsWith('--heap-growing-percent'),
    ),
    ...(isTypeScript && !parentFlags.some((arg) => arg.includes('@swc-node/register'))
      ? ['-r', '@swc-node/register']
      : []),
    `--max-old-space-size=${FIRST_MODEL_HEAP_MB}`,
  ];
}

export function trainFirstModelInChild(options: {
  databaseUrl: string;
  schema?: string;
  /** Overrides the memory budget (default: 60% of the machine's memory, see memory-budget). */
  budgetMb?: number;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How far the training is, 0..1 (from the child's progress lines). */
  onProgress?: (fraction: number) => void;
}): FirstModelTraining {
  const file = path.join(__dirname, `train-database-cli${path.extname(__filename)}`);
  const execArgv = trainingChildFlags(process.execArgv, __filename.endsWith('.ts'));
  const args = [
    ...(options.schema ? ['--schema', options.schema] : []),
    ...(options.budgetMb !== undefined ? ['--budget-mb', String(options.budgetMb)] : []),
  ];
  const child: ChildProcess = fork(file, args, {
    execArgv,
    env: { ...process.env, DATABASE_URL: withApplicationName(options.databaseUrl) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let result: FirstModelResult | null = null;
  let lastError = '';
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith(RESULT_MARKER))
      result = JSON.parse(line.slice(RESULT_MARKER.length)) as FirstModelResult;
    else if (line.startsWith(PROGRESS_MARKER))
      options.onProgress?.(Number(line.slice(PROGRESS_MARKER.length)));
    else options.onLine?.(line, 'stdout');
  });
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.trim()) lastError = line.trim();
    options.onLine?.(line, 'stderr');
  });
  const done = new Promise<FirstModelResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0 && result) resolve(result);
      else if (signal)
        reject(
          new Error(
            `the training process was ended by ${signal}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}`,
          ),
        );
      else reject(new Error(lastError || `the training process exited with code ${code}`));
    });
  });
  return {
    done,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
