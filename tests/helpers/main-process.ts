import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticCatalog, writeSyntheticRelease } from '../../fixtures/synthetic';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A small MovieLens-format release (60 users, 80 movies) in a temporary directory of its own, for a
 * first start to import; remove() deletes that directory and nothing else.
 */
export async function writeTinyRelease(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-release-'));
  await writeSyntheticRelease(dir, generateSyntheticCatalog({ seed: 5, users: 60, movies: 80 }));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface MainProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  /** Every line the process wrote to stderr (its JSON log). */
  lines: string[];
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Resolves with the first log line matching. */
  waitForLine(pattern: RegExp): Promise<string>;
}

/**
 * The service as `npm start` runs it: package.json's start script through `sh -c`, as npm spawns it
 * and as npm forwards SIGTERM to it (to the shell; without `exec` in the script the shell died and
 * the server stayed up), on port 0: the URL is read from its "serving GraphQL at" log line.
 */
export async function startMainProcess(env: Record<string, string>): Promise<MainProcess> {
  return startScriptProcess('start', env, /serving GraphQL at/);
}

/** `npm run worker` the same way; `base` is its health and metrics address. */
export async function startWorkerProcess(env: Record<string, string>): Promise<MainProcess> {
  return startScriptProcess('worker', { WORKER_PORT: '0', ...env }, /worker running; health and metrics at/);
}

async function startScriptProcess(
  script: 'start' | 'worker',
  env: Record<string, string>,
  ready: RegExp,
): Promise<MainProcess> {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<typeof script, string>;
  };
  const child = spawn('sh', ['-c', scripts[script]], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of [...waiters])
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
    }
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const waitForLine = (pattern: RegExp) => {
    const found = lines.find((line) => pattern.test(line));
    if (found) return Promise.resolve(found);
    return new Promise<string>((resolve, reject) => {
      waiters.push({ pattern, resolve });
      exited.then((code) =>
        reject(new Error(`the server exited (${code}) before logging ${pattern}:\n${lines.join('\n')}`)),
      );
    });
  };
  const serving = await waitForLine(ready);
  const url = /http:\/\/[\d.]+:\d+/.exec(serving)?.[0];
  if (!url) throw new Error(`no URL in "${serving}"`);
  return { child, base: url, lines, exited, waitForLine };
}
