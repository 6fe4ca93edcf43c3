import { createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { DataSource } from 'typeorm';
import {
  generateSyntheticCatalog,
  writeSyntheticRelease,
  type SyntheticCatalogOptions,
} from '../../fixtures/synthetic';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { importRelease, type AfterImportHook, type ImportProgress, type ImportSummary } from './importer';
import { detectRelease, UnknownReleaseError } from './movielens/formats';
import { extractZip } from './zip';

export type CatalogConfig = Pick<Config, 'movielensDir' | 'movielensDownloadUrl' | 'cacheDir'>;

/** Where the catalog came from: already there, MOVIELENS_DIR, the download cache, a fresh download, or generated. */
export type CatalogSource = 'existing' | 'directory' | 'cache' | 'download' | 'synthetic';

export interface CatalogResult {
  source: CatalogSource;
  /** Null when the catalog was already there. */
  summary: ImportSummary | null;
}

export interface EnsureCatalogOptions {
  afterImport?: readonly AfterImportHook[];
  onProgress?: (progress: ImportProgress) => void;
  /** Give up on the download when nothing arrives for this long (connecting included). Default 15 s. */
  downloadTimeoutMs?: number;
  /** The generated demo catalog's shape; default: seed 42, 500 users, 600 movies (≈25k ratings). */
  demoCatalog?: SyntheticCatalogOptions;
}

/** Ids 1..600: the README's first session rates movies 1-593, which ml-latest-small has too (tested). */
const DEFAULT_DEMO_CATALOG: SyntheticCatalogOptions = { seed: 42, users: 500, movies: 600 };

/** The download failed in a way the demo catalog can stand in for (offline, timeout, HTTP error, bad archive). */
class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

/**
 * Makes sure there is a catalog to recommend from; call once at startup, after migrations.
 *
 * Does nothing when `movies` already has rows. Otherwise imports, in this order of preference:
 * `config.movielensDir`; an already extracted or downloaded copy in `config.cacheDir`; a fresh download
 * of `config.movielensDownloadUrl` (a zip, kept in the cache); and when that download fails, a generated
 * demo catalog, announced in one warning. A configured directory that cannot be imported is an error,
 * not a reason to fall back.
 */
export async function ensureCatalog(
  dataSource: DataSource,
  config: CatalogConfig,
  logger: Logger,
  options: EnsureCatalogOptions = {},
): Promise<CatalogResult> {
  const [{ present }] = await dataSource.query(`SELECT EXISTS (SELECT 1 FROM movies) AS present`);
  if (present) return { source: 'existing', summary: null };

  const importOptions = {
    afterImport: options.afterImport,
    onProgress: options.onProgress,
    progressLog: { logger },
  };
  const importFrom = async (source: CatalogSource, dir: string): Promise<CatalogResult> => {
    logger.info(`importing the MovieLens release in ${dir}`);
    const summary = await importRelease(dataSource, dir, importOptions);
    logger.info(
      `imported ${summary.movies} movies, ${summary.users} users, ${summary.ratings} ratings and ` +
        `${summary.tags} tags (${summary.format}) in ${summary.seconds.toFixed(1)} s`,
    );
    return { source, summary };
  };

  if (config.movielensDir) return importFrom('directory', config.movielensDir);

  const cache = new ReleaseCache(config.cacheDir, config.movielensDownloadUrl, logger);
  const cached = await cache.extractedRelease();
  if (cached) return importFrom('cache', cached);
  const fromZip = await cache.extractCachedZip();
  if (fromZip) return importFrom('cache', fromZip);

  let downloaded: string;
  try {
    downloaded = await cache.download(options.downloadTimeoutMs ?? 15_000);
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    return importDemoCatalog(dataSource, logger, {
      ...importOptions,
      catalog: options.demoCatalog ?? DEFAULT_DEMO_CATALOG,
      reason: `downloading ${config.movielensDownloadUrl} failed (${error.message})`,
    });
  }
  return importFrom('download', downloaded);
}

async function importDemoCatalog(
  dataSource: DataSource,
  logger: Logger,
  options: {
    catalog: SyntheticCatalogOptions;
    reason: string;
    afterImport?: readonly AfterImportHook[];
    onProgress?: (progress: ImportProgress) => void;
  },
): Promise<CatalogResult> {
  const catalog = generateSyntheticCatalog(options.catalog);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-demo-'));
  try {
    await writeSyntheticRelease(dir, catalog);
    const summary = await importRelease(dataSource, dir, {
      afterImport: options.afterImport,
      onProgress: options.onProgress,
      progressLog: { logger },
    });
    logger.warn(
      `${options.reason}; loaded a generated demo catalog instead (${summary.movies} movies, ${summary.users} ` +
        `users, ${summary.ratings} ratings, not real data). Set MOVIELENS_DIR to a MovieLens release to use real data.`,
    );
    return { source: 'synthetic', summary };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A release's download and extraction under the cache directory, named after the archive. */
class ReleaseCache {
  readonly name: string;
  readonly zipFile: string;
  readonly extractedDir: string;

  constructor(
    readonly cacheDir: string,
    readonly url: string,
    private readonly logger: Logger,
  ) {
    let base = 'movielens.zip';
    try {
      base = path.posix.basename(new URL(url).pathname) || base;
    } catch {
      // An unparsable URL fails again, with a reason, when it is fetched.
    }
    this.name = base.replace(/\.zip$/i, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'movielens';
    this.zipFile = path.join(cacheDir, `${this.name}.zip`);
    this.extractedDir = path.join(cacheDir, this.name);
  }

  /** The extracted release, if an earlier run got that far (extraction ends in an atomic rename). */
  async extractedRelease(): Promise<string | null> {
    try {
      await detectRelease(this.extractedDir);
      return this.extractedDir;
    } catch (error) {
      if (error instanceof UnknownReleaseError) return null;
      throw error;
    }
  }

  /** Extracts a zip an earlier run downloaded; a damaged one is deleted so it gets downloaded again. */
  async extractCachedZip(): Promise<string | null> {
    const stat = await fs.stat(this.zipFile).catch(() => null);
    if (!stat?.isFile()) return null;
    try {
      return await this.extract();
    } catch (error) {
      this.logger.warn(
        `the cached ${this.zipFile} is unusable (${(error as Error).message}); downloading it again`,
      );
      await fs.rm(this.zipFile, { force: true });
      return null;
    }
  }

  async download(timeoutMs: number): Promise<string> {
    await fs.mkdir(this.cacheDir, { recursive: true });
    const partial = `${this.zipFile}.part`;
    this.logger.info(`downloading ${this.url} into ${this.cacheDir}`);
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), timeoutMs);
    // Restarted on every chunk: a slow but steady download is fine, a stalled one is not.
    const stillAlive = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), timeoutMs);
    };
    const started = Date.now();
    try {
      const response = await fetch(this.url, { signal: controller.signal });
      if (!response.ok || !response.body)
        throw new DownloadError(`HTTP ${response.status} ${response.statusText}`);
      const total = Number(response.headers.get('content-length')) || 0;
      const out = createWriteStream(partial);
      let received = 0;
      let nextReport = 0.25;
      try {
        for await (const chunk of response.body) {
          stillAlive();
          received += chunk.length;
          if (!out.write(chunk)) await once(out, 'drain');
          if (total > 0 && received / total >= nextReport && received < total) {
            this.logger.info(`downloaded ${Math.round((received / total) * 100)}% of ${megabytes(total)}`);
            nextReport += 0.25;
          }
        }
      } finally {
        out.end();
        await once(out, 'close');
      }
      if (total > 0 && received !== total)
        throw new DownloadError(`the connection closed after ${received} of ${total} bytes`);
      this.logger.info(
        `downloaded ${megabytes(received)} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      await fs.rename(partial, this.zipFile);
    } catch (error) {
      await fs.rm(partial, { force: true });
      if (error instanceof DownloadError) throw error;
      throw new DownloadError(
        controller.signal.aborted
          ? `no data for ${Number((timeoutMs / 1000).toFixed(1))} s`
          : describeFetchError(error),
      );
    } finally {
      clearTimeout(timer);
    }
    try {
      return await this.extract();
    } catch (error) {
      await fs.rm(this.zipFile, { force: true });
      throw new DownloadError(`the downloaded archive is unusable: ${(error as Error).message}`);
    }
  }

  /** Unpacks into a scratch directory, then renames the release folder into place in one step. */
  private async extract(): Promise<string> {
    const scratch = await fs.mkdtemp(path.join(this.cacheDir, '.extract-'));
    try {
      await extractZip(this.zipFile, scratch);
      const release = await findReleaseDir(scratch);
      await fs.rm(this.extractedDir, { recursive: true, force: true });
      await fs.rename(release, this.extractedDir);
      return this.extractedDir;
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  }
}

/** GroupLens archives hold one top-level folder (ml-latest-small/); accept the files at the root too. */
async function findReleaseDir(root: string): Promise<string> {
  const candidates = [root];
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    if (entry.isDirectory() && !entry.name.startsWith('__MACOSX'))
      candidates.push(path.join(root, entry.name));
  }
  for (const candidate of candidates) {
    try {
      await detectRelease(candidate);
      return candidate;
    } catch (error) {
      if (!(error instanceof UnknownReleaseError)) throw error;
    }
  }
  // Reports what the archive's top level holds.
  await detectRelease(candidates.length === 2 ? candidates[1] : root);
  return root;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** fetch() says only "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND …) is in its cause. */
function describeFetchError(error: unknown): string {
  // Duck-typed: undici's errors come from another realm under some test runners, failing instanceof.
  const { message, cause } = (error ?? {}) as {
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  };
  if (typeof message !== 'string') return String(error);
  const detail = cause?.code ?? cause?.message;
  return typeof detail === 'string' ? `${message}: ${detail}` : message;
}
