import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedDatabase } from '../../src/db/embedded';

const ROOT = path.resolve(__dirname, '../..');

/** Runs startEmbeddedDatabase on `dataDir` in a separate Node process; resolves to its exit code and stderr. */
function startInAnotherProcess(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  const script = `
    const { startEmbeddedDatabase } = require('./src/db/embedded');
    startEmbeddedDatabase({ dataDir: ${JSON.stringify(dataDir)}, port: 0, poolSize: 1 }).then(
      async (db) => { await db.stop(); process.exit(0); },
      (error) => { process.stderr.write(String(error.message)); process.exit(3); },
    );`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

/** The pid of a process that has exited (so no process holds it, short of pid reuse). */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0']);
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

describe('the embedded data directory is one process’s alone', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-lock-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second process on the same directory, naming the holder’s pid, and admits one after stop', async () => {
    const dataDir = path.join(dir, 'pglite');
    const first = await startEmbeddedDatabase({ dataDir, port: 0, poolSize: 1 });
    try {
      const second = await startInAnotherProcess(dataDir);
      expect(second.stderr).toContain(`held by process ${process.pid}`);
      expect(second.stderr).toContain(dataDir);
      expect(second.code).toBe(3);
      // Within one process too: a second open of the same directory would corrupt it just the same.
      await expect(startEmbeddedDatabase({ dataDir, port: 0, poolSize: 1 })).rejects.toThrow(
        `held by process ${process.pid}`,
      );
    } finally {
      await first.stop();
    }
    const again = await startInAnotherProcess(dataDir);
    expect(again).toEqual({ code: 0, stderr: '' });
  });

  it('takes over the lock of a process that died without releasing it', async () => {
    const dataDir = path.join(dir, 'pglite');
    const dead = await deadPid();
    await writeFile(`${dataDir}.lock`, `${dead}\n`);
    const db = await startEmbeddedDatabase({ dataDir, port: 0, poolSize: 1 });
    try {
      expect((await readFile(`${dataDir}.lock`, 'utf8')).trim()).toBe(String(process.pid));
    } finally {
      await db.stop();
    }
  });
});
