import { Logger, silentLogger } from '../../logger';
import { buildMipsIndex, isFactorModel, type MipsIndex, type TopNModel } from './kernels';

export interface CandidateIndexOptions {
  /**
   * Catalogs with fewer rankable movies are scored by the full pass, which also leaves every score
   * at hand for the other engines' candidates (COLLABORATIVE_ANN_MIN_MOVIES).
   */
  minMovies: number;
  logger?: Logger;
}

/**
 * The top-N index of one model version (movies by descending factor norm, kernels/mips-index.ts),
 * part of its snapshot: built when the version is loaded (a sort: 0.1–0.2 s of CPU at 62K movies), dropped
 * with the snapshot, so a new version always gets an index of its own factors.
 */
export class CandidateIndex {
  private index: MipsIndex | null = null;

  constructor(model: TopNModel, versionId: number, rankableMovies: number, options: CandidateIndexOptions) {
    // EASE has no factors to index; its per-user cost is bounded by its columns, not the catalog.
    if (rankableMovies < options.minMovies || !isFactorModel(model)) return;
    const started = performance.now();
    const index = buildMipsIndex(model.itemFactors, model.rank);
    this.index = index;
    (options.logger ?? silentLogger).info(
      `collaborative candidate index of version ${versionId}: ${index.numItems} movies by norm in ` +
        `${(performance.now() - started).toFixed(0)} ms, ${(index.bytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }

  /** The index; null below the size threshold or for a model without factors. */
  ready(): MipsIndex | null {
    return this.index;
  }
}
