import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureCatalog, type CatalogConfig } from '../../src/data/first-run';
import type { Logger } from '../../src/logger';
import { closedPortUrl } from '../helpers/closed-port';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { csv, ReleaseDirs } from './release-files';
import { buildZip } from './zip-writer';

const MOVIES = csv('movieId,title,genres', '1,Heat (1995),Action|Crime', '2,"Misérables, Les (1995)",Drama');
const RATINGS = csv(
  'userId,movieId,rating,timestamp',
  '1,1,4.0,964982703',
  '1,2,3.5,964982704',
  '2,2,5.0,964982705',
);
const RELEASE_ZIP = buildZip([
  { name: 'ml-latest-small/', data: '', stored: true },
  { name: 'ml-latest-small/movies.csv', data: MOVIES },
  { name: 'ml-latest-small/ratings.csv', data: RATINGS },
]);
const DEMO = { seed: 3, users: 30, movies: 40, ratingsPerUser: { min: 5, max: 10 } };

class RecordingLogger implements Logger {
  readonly lines: Array<{ level: string; message: string }> = [];
  debug(message: string) {
    this.lines.push({ level: 'debug', message });
  }
  info(message: string) {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string) {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string) {
    this.lines.push({ level: 'error', message });
  }
  at(level: string) {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/datasets/ml-latest-small.zip`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('ensureCatalog', () => {
  let db: TestDatabase;
  let cacheRoot: string;
  const releases = new ReleaseDirs();

  beforeAll(async () => {
    db = await createTestDatabase();
    cacheRoot = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-cache-'));
  });
  afterAll(async () => {
    await releases.cleanup();
    await rm(cacheRoot, { recursive: true, force: true });
    await db.drop();
  });
  beforeEach(async () => {
    await db.dataSource.query('TRUNCATE movies, users, ratings, tags RESTART IDENTITY CASCADE');
  });

  const freshCache = () => mkdtemp(path.join(cacheRoot, 'cache-'));
  const count = async (table: string) =>
    Number((await db.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);

  it('imports MOVIELENS_DIR when set, and leaves a populated catalog alone afterwards', async () => {
    const dir = await releases.write({ 'movies.csv': MOVIES, 'ratings.csv': RATINGS });
    const config: CatalogConfig = {
      movielensDir: dir,
      movielensDownloadUrl: await closedPortUrl(),
      cacheDir: await freshCache(),
    };
    const logger = new RecordingLogger();

    const first = await ensureCatalog(db.dataSource, config, logger);
    expect(first.source).toBe('directory');
    expect(first.summary).toMatchObject({ movies: 2, users: 2, ratings: 3 });

    const again = await ensureCatalog(db.dataSource, config, logger);
    expect(again).toEqual({ source: 'existing', summary: null });
    expect(await count('ratings')).toBe(3);
  });

  it('falls back to the generated demo catalog when the download fails, with one warning', async () => {
    const cacheDir = await freshCache();
    const logger = new RecordingLogger();
    const result = await ensureCatalog(
      db.dataSource,
      { movielensDir: null, movielensDownloadUrl: await closedPortUrl(), cacheDir },
      logger,
      { demoCatalog: DEMO },
    );

    expect(result.source).toBe('synthetic');
    expect(await count('movies')).toBe(40);
    expect(await count('users')).toBe(30);
    expect(await count('ratings')).toBe(result.summary?.ratings);
    const warnings = logger.at('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /downloading http:\/\/127\.0\.0\.1:\d+\/ml-latest-small\.zip failed \(fetch failed: ECONNREFUSED\)/,
    );
    expect(warnings[0]).toContain('loaded a generated demo catalog instead (40 movies, 30 users');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('imports a zip already in the cache without downloading, then reuses the extracted copy', async () => {
    const cacheDir = await freshCache();
    await writeFile(path.join(cacheDir, 'ml-latest-small.zip'), RELEASE_ZIP);
    const config: CatalogConfig = {
      movielensDir: null,
      movielensDownloadUrl: await closedPortUrl(),
      cacheDir,
    };

    const fromZip = await ensureCatalog(db.dataSource, config, new RecordingLogger());
    expect(fromZip.source).toBe('cache');
    expect(fromZip.summary).toMatchObject({ movies: 2, ratings: 3 });
    const [title] = await db.dataSource.query(`SELECT title FROM movies WHERE id = 2`);
    expect(title.title).toBe('Misérables, Les');
    expect((await stat(path.join(cacheDir, 'ml-latest-small', 'ratings.csv'))).isFile()).toBe(true);

    await rm(path.join(cacheDir, 'ml-latest-small.zip'));
    await db.dataSource.query('TRUNCATE movies, users, ratings, tags RESTART IDENTITY CASCADE');
    const fromExtracted = await ensureCatalog(db.dataSource, config, new RecordingLogger());
    expect(fromExtracted.source).toBe('cache');
    expect(await count('ratings')).toBe(3);
  });

  it('downloads the zip with progress logs, caches it, and imports it', async () => {
    const server = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/zip', 'content-length': RELEASE_ZIP.length });
      response.end(RELEASE_ZIP);
    });
    try {
      const cacheDir = await freshCache();
      const logger = new RecordingLogger();
      const result = await ensureCatalog(
        db.dataSource,
        { movielensDir: null, movielensDownloadUrl: server.url, cacheDir },
        logger,
      );
      expect(result.source).toBe('download');
      expect(result.summary).toMatchObject({ movies: 2, users: 2, ratings: 3 });
      expect((await readdir(cacheDir)).sort()).toEqual(['ml-latest-small', 'ml-latest-small.zip']);
      expect(logger.at('info').some((m) => m.startsWith('downloaded '))).toBe(true);
      expect(logger.at('warn')).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('treats a server error and a stalled download like being offline', async () => {
    const failing = await serve((_request, response) => {
      response.writeHead(503);
      response.end('maintenance');
    });
    const stalled = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': 1000 });
      response.write(RELEASE_ZIP.subarray(0, 10));
    });
    try {
      const logger = new RecordingLogger();
      const unavailable = await ensureCatalog(
        db.dataSource,
        { movielensDir: null, movielensDownloadUrl: failing.url, cacheDir: await freshCache() },
        logger,
        { demoCatalog: DEMO },
      );
      expect(unavailable.source).toBe('synthetic');
      expect(logger.at('warn')[0]).toContain('failed (HTTP 503');

      await db.dataSource.query('TRUNCATE movies, users, ratings, tags RESTART IDENTITY CASCADE');
      const slowLogger = new RecordingLogger();
      const cacheDir = await freshCache();
      const stalledResult = await ensureCatalog(
        db.dataSource,
        { movielensDir: null, movielensDownloadUrl: stalled.url, cacheDir },
        slowLogger,
        { demoCatalog: DEMO, downloadTimeoutMs: 300 },
      );
      expect(stalledResult.source).toBe('synthetic');
      expect(slowLogger.at('warn')[0]).toContain('failed (no data for 0.3 s)');
      expect(await readdir(cacheDir)).toEqual([]);
    } finally {
      await failing.close();
      await stalled.close();
    }
  });

  it('refuses to fall back when the configured MOVIELENS_DIR is not a release', async () => {
    const dir = await releases.write({ 'README.md': 'not a release' });
    await expect(
      ensureCatalog(
        db.dataSource,
        { movielensDir: dir, movielensDownloadUrl: await closedPortUrl(), cacheDir: await freshCache() },
        new RecordingLogger(),
      ),
    ).rejects.toThrow(/does not look like a MovieLens release/);
    expect(await count('movies')).toBe(0);
  });
});
