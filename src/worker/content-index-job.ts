import type { DataSource } from 'typeorm';
import type { ContentIndexer } from '../engines/content';
import type { Job, JobContext } from './worker';
import type { JobRunLog } from './job-runs';

export const CONTENT_INDEX_JOB = 'content-index';

/**
 * The catalog version (migration DataVersions): bumped by every statement on `movies` and by every
 * import, which is also how tags and overviews arrive.
 */
export async function catalogSignature(db: DataSource): Promise<string> {
  const [row]: { version: string }[] = await db.query(
    `SELECT version::text AS version FROM data_versions WHERE name = 'catalog'`,
  );
  return row?.version ?? '0';
}

export interface ContentIndexJobOptions {
  dataSource: DataSource;
  indexer: ContentIndexer;
  runs: JobRunLog;
  /**
   * The indexer also answers this process's content engine: it must complete one run here (finding
   * everything unchanged when another process built the index) before the engine serves.
   */
  serving?: boolean;
  /** After a successful run (the embedded worker preloads the vectors). */
  onIndexed?(): Promise<void>;
  /** Re-embed every movie, changed or not (`npm run embed -- --force`). */
  force?: boolean;
}

/**
 * The content index: brought up to date when it was never built for the configured embedding
 * model, and whenever the catalog changed since the last successful run (new and changed movies;
 * unchanged ones are skipped by text hash, which is also how a killed run resumes).
 */
export function contentIndexJob(options: ContentIndexJobOptions): Job {
  const { dataSource: db, indexer, runs } = options;
  return {
    name: CONTENT_INDEX_JOB,
    async due() {
      const { modelId } = await indexer.model();
      const last = await runs.lastSuccess(CONTENT_INDEX_JOB);
      if (!last) return 'first index';
      if (last.detail.modelId !== modelId) return `embedding model is now ${modelId}`;
      if (last.detail.catalog !== (await catalogSignature(db))) return 'catalog changed';
      if (options.serving && !indexer.progress().complete) return 'index check for this process';
      return null;
    },
    async run(context: JobContext) {
      // Read before the run: a change made while it runs makes the next check due again.
      const catalog = await catalogSignature(db);
      // Not abortable half-way, and need not be: a run stopped anywhere resumes by text hash.
      const poll = setInterval(() => context.progress(indexer.progress().fraction), 500);
      poll.unref();
      try {
        const summary = await indexer.run({ force: options.force });
        await options.onIndexed?.();
        return {
          modelId: summary.model.modelId,
          catalog,
          total: summary.total,
          embedded: summary.embedded,
          unchanged: summary.unchanged,
          skipped: summary.skipped,
        };
      } finally {
        clearInterval(poll);
      }
    },
  };
}
