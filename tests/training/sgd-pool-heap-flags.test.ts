import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The training child runs with --max-old-space-size (first-model.ts), and a worker thread refuses V8
 * heap flags handed to it explicitly: with TRAINING_THREADS above 1, a pool that passed the parent's
 * flags on never started, and the first model never came.
 */
describe('SgdWorkerPool under heap flags', () => {
  it('starts and closes in a process started with the server heap flags and --max-old-space-size', async () => {
    const root = path.resolve(__dirname, '../..');
    const script =
      "require('./training/sgd-workers').SgdWorkerPool.start(2)" +
      ".then((pool) => pool.close().then(() => console.log('pool of ' + pool.threads)))" +
      '.catch((error) => { console.error(error.code || error.message); process.exit(1); });';
    const { stdout } = await run(
      process.execPath,
      [
        '--max-semi-space-size=128',
        '--heap-growing-percent=100',
        '--max-old-space-size=2048',
        '-r',
        '@swc-node/register',
        '-e',
        script,
      ],
      { cwd: root, timeout: 60_000 },
    );
    expect(stdout.trim()).toBe('pool of 2');
  }, 90_000);
});
