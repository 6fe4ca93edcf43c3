import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEmbeddedDatabase } from '../../src/db/embedded';
import { csv, ReleaseDirs } from '../data/release-files';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

/**
 * Without DATABASE_URL, `npm run migrate` and `npm run import` work on the embedded database the server
 * opens (DATA_DIR/pglite), so what they do is what `npm start` then serves.
 */
describe('migrate, import and keys CLIs on the embedded database', () => {
  let dataDir: string;
  const releases = new ReleaseDirs();
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: '' };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-cli-data-'));
    env.DATA_DIR = dataDir;
  });
  afterAll(async () => {
    await releases.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  const cli = (file: string, args: string[] = []) =>
    run(process.execPath, ['-r', require.resolve('@swc-node/register'), file, ...args], { cwd: ROOT, env });

  it('migrates, then imports into the directory the server opens', async () => {
    const migrated = await cli('src/db/migrate-cli.ts');
    expect(migrated.stdout).toMatch(/^applied \d+ of \d+ migrations:/);
    expect((await cli('src/db/migrate-cli.ts')).stdout).toMatch(/^schema up to date/);

    const release = await releases.write({
      'movies.csv': csv('movieId,title,genres', '1,Heat (1995),Action|Crime', '2,Alien (1979),Horror|Sci-Fi'),
      'ratings.csv': csv('userId,movieId,rating,timestamp', '1,1,4.0,964982703', '2,2,5.0,964982705'),
    });
    const imported = await cli('src/data/import-cli.ts', [release]);
    expect(imported.stdout).toMatch(/2 movies, 2 users, 2 ratings/);
    const key = await cli('src/services/keys-cli.ts', ['create', '--name', 'local', '--scopes', 'read']);
    expect(key.stdout).toMatch(/^cgk_\S{43}\n$/);

    // Where app.ts's connectDatabase opens it.
    const embedded = await startEmbeddedDatabase({
      dataDir: path.join(dataDir, 'pglite'),
      port: 0,
      poolSize: 1,
    });
    const { Client } = await import('pg');
    const client = new Client({ connectionString: embedded.url });
    try {
      await client.connect();
      const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM movies');
      expect(Number(rows[0].count)).toBe(2);
      const keys = await client.query('SELECT name, scopes, revoked_at FROM service_keys');
      expect(keys.rows).toEqual([{ name: 'local', scopes: ['read'], revoked_at: null }]);
    } finally {
      await client.end();
      await embedded.stop();
    }
    // Five PGlite start-ups in child processes: 60-80 s for four on a machine with a load average of 17.
  }, 400_000);
});
