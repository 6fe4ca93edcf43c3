import { Logger, silentLogger } from '../../logger';
import { buildMipsIndexSliced, type MipsIndex, type MipsIndexOptions } from './kernels';
import { isFactorModel, type TopNModel } from './kernels';

export interface CandidateIndexOptions {
  /**
   * Catalogs with fewer rankable movies are scored exactly: below the crossover measured by
   * scripts/bench-ann.ts a full pass costs less than probing the index.
   */
  minMovies: number;
  logger?: Logger;
  /** Index parameters (tests and benchmarks); serving uses the defaults. */
  index?: MipsIndexOptions;
}

/**
 * The approximate top-N index of one model version, part of its snapshot: built in the background
 * when the version is loaded (serving scores exactly until it is ready), dropped with the snapshot,
 * so a new version always gets an index of its own factors.
 */
export class CandidateIndex {
  private index: MipsIndex | null = null;
  private abandoned = false;
  /** Settles when the build has finished, failed or been abandoned (immediately when not built). */
  readonly built: Promise<void>;

  constructor(model: TopNModel, versionId: number, rankableMovies: number, options: CandidateIndexOptions) {
    const logger = options.logger ?? silentLogger;
    // EASE has no factors to index; its per-user cost is bounded by its columns, not the catalog.
    if (rankableMovies < options.minMovies || !isFactorModel(model)) {
      this.built = Promise.resolve();
      return;
    }
    const started = performance.now();
    this.built = buildMipsIndexSliced(model.itemFactors, model.rank, options.index, 8, () => this.abandoned)
      .then((index) => {
        if (!index || this.abandoned) return;
        this.index = index;
        logger.info(
          `collaborative candidate index of version ${versionId} ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
            `${index.numItems} movies in ${index.numLists} lists, ${index.scanBudget} scanned per ${index.calibrationN} ` +
            `candidates (calibrated recall ${index.calibratedRecall.toFixed(3)}), ${(index.bytes / 2 ** 20).toFixed(1)} MiB`,
        );
      })
      .catch((error: unknown) => {
        // Serving stays exact: slower, never wrong.
        logger.error(`building the collaborative candidate index of version ${versionId} failed`, error);
      });
  }

  /** The index once built; null while building, below the size threshold, or after a failed build. */
  ready(): MipsIndex | null {
    return this.index;
  }

  /** Stops a build still running (its snapshot was replaced). */
  abandon(): void {
    this.abandoned = true;
    this.index = null;
  }
}
