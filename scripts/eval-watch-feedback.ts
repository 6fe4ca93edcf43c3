/**
 * Does WATCH feedback help the collaborative top-N model? On a MovieLens release (ml-latest-small)
 * under the temporal protocol (each user's latest 20% of ratings is the test set), a seeded random
 * share of the TRAINING ratings ≥ 4 is turned into WATCH events (watched ≥ 80%) instead of ratings,
 * as if those users had watched without rating. Then the top-N model production serves (by default
 * `select`: PureSVD or EASE, whichever wins on a validation split of the variant's own training
 * data, as training does; `--topn puresvd` for PureSVD alone) is fitted with and without the events
 * and NDCG@10 / Recall@10 measured on the test set. The events stand for the rating-like value
 * serving and training give them (src/engines/implicit-rating.ts: user mean + 1.5); `--offsets`
 * re-runs the choice of the offset on a validation split of the training data (each user's latest
 * 20%), never on the test set.
 *
 *   node -r @swc-node/register scripts/eval-watch-feedback.ts --data <ml-latest-small> \
 *     [--share 0.5] [--seed 1] [--topn select|puresvd] [--offsets 0,0.5,1,1.5]
 */
import { loadavg, uptime } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Mulberry32 } from '../src/engines/collaborative/kernels/prng';
import { buildCsr, type CsrMatrix } from '../src/engines/collaborative/kernels/sparse';
import { TopNScorer, type TopNKind } from '../src/engines/collaborative/kernels/top-n-model';
import { DEFAULT_IMPLICIT_RULE } from '../src/engines/implicit-rating';
import { parseFlags, runCli, stringFlag, numberFlag, integerFlag, UsageError } from '../training/cli';
import { datasetFromRows, idSpaceOf, type RatingRecord, type RatingsDataset } from '../training/dataset';
import { rankingMetrics } from '../training/evaluate';
import {
  withImplicitRatings,
  WATCH_POSITIVE_FRACTION,
  type ImplicitPositive,
} from '../training/implicit-feedback';
import type { RankingMetrics } from '../training/metrics';
import { DEFAULT_PURE_SVD_OPTIONS } from '../training/options';
import { loadEvaluationPlan } from '../training/protocols';
import type { EvaluationStrategy } from '../training/strategies';
import { defaultTopNCandidates, selectTopNModel } from '../training/topn-strategies';
import { DEFAULT_TRAIN_OPTIONS, fitTopN } from '../training/train';
import { temporalHoldout } from '../training/validation-split';

const USAGE = `usage: eval-watch-feedback.ts --data <ml-latest-small dir> [--share 0.5] [--seed 1] [--topn select|puresvd] [--offsets 0,0.5,1,1.5]

Turns a seeded random share of the training ratings >= 4 (temporal protocol) into WATCH events
(fraction >= ${WATCH_POSITIVE_FRACTION}) and prints NDCG@10 / Recall@10 on the held-out test set of the
served top-N model (select: PureSVD or EASE chosen on validation, as training does) fitted without
and with the events. The events stand for user mean + ${DEFAULT_IMPLICIT_RULE.offset} (what serving uses);
--offsets chooses the offset again, on a validation split of the training data.`;

/**
 * The served top-N model: its kind chosen on a validation split of the data it is fitted on (or
 * PureSVD alone), fitted there, and users scored by TopNScorer as the engine scores them, from the
 * rows of `userRows` when given (else the fitted data's), with some movies left out of each ranking.
 */
class ServedTopNVariant implements EvaluationStrategy {
  private scorer: TopNScorer | null = null;
  private rankable: Uint8Array | null = null;
  private rows: CsrMatrix | null = null;
  kind: TopNKind | null = null;

  constructor(
    readonly name: string,
    private readonly choice: 'select' | 'puresvd',
    private readonly seed: number,
    private readonly userRows: CsrMatrix | null = null,
    private readonly leftOut: ReadonlyMap<number, readonly number[]> = new Map(),
  ) {}

  async fit(train: RatingsDataset): Promise<void> {
    const options = { ...DEFAULT_TRAIN_OPTIONS, topN: { ...DEFAULT_PURE_SVD_OPTIONS, seed: this.seed } };
    this.kind =
      this.choice === 'select'
        ? (await selectTopNModel(train, defaultTopNCandidates(this.seed), 'temporal', this.seed)).kind
        : 'puresvd';
    this.scorer = new TopNScorer(fitTopN(train, this.kind, options));
    this.rankable = this.scorer.rankable();
    this.rows =
      this.userRows ?? buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
  }

  scoreAll(user: number, out: Float32Array): void {
    const { scorer, rows, rankable } = this;
    if (!scorer || !rows || !rankable) throw new Error(`${this.name} used before fit()`);
    const start = rows.offsets[user];
    const end = rows.offsets[user + 1];
    out.set(scorer.scoreUser(rows.columns.subarray(start, end), rows.values.subarray(start, end)).scores);
    for (let item = 0; item < out.length; item++) if (!rankable[item]) out[item] = -Infinity;
    for (const item of this.leftOut.get(user) ?? []) out[item] = -Infinity;
  }
}

/** The watched movies of each user as dense item indices of `space`. */
function watchedByUser(
  positives: readonly ImplicitPositive[],
  dataset: RatingsDataset,
): Map<number, number[]> {
  const users = new Map<number, number>();
  dataset.userIds.forEach((id, u) => users.set(id, u));
  const items = new Map<number, number>();
  dataset.itemIds.forEach((id, i) => items.set(id, i));
  const byUser = new Map<number, number[]>();
  for (const p of positives) {
    const user = users.get(p.userId) as number;
    const list = byUser.get(user) ?? [];
    list.push(items.get(p.movieId) as number);
    byUser.set(user, list);
  }
  return byUser;
}

async function main(argv: readonly string[]): Promise<void> {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    share: { type: 'string' },
    seed: { type: 'string' },
    offsets: { type: 'string' },
    topn: { type: 'string' },
  });
  const data = stringFlag(values, 'data');
  if (!data) throw new UsageError('--data is required');
  const share = numberFlag(values, 'share', 0.5);
  if (!(share > 0 && share < 1)) throw new UsageError('--share must be between 0 and 1');
  const seed = integerFlag(values, 'seed', 1);
  const offsetsFlag = stringFlag(values, 'offsets');
  const offsets = offsetsFlag?.split(',').map(Number) ?? [];
  if (offsets.some((o) => !Number.isFinite(o))) throw new UsageError('--offsets must be numbers');
  const choice = stringFlag(values, 'topn') ?? 'select';
  if (choice !== 'select' && choice !== 'puresvd') throw new UsageError('--topn must be select or puresvd');

  const plan = await loadEvaluationPlan('temporal', { data });
  const fold = plan.folds[0];
  const space = idSpaceOf(fold.train, fold.test);
  const random = new Mulberry32(seed);
  const kept: RatingRecord[] = [];
  const positives: ImplicitPositive[] = [];
  for (const row of fold.train) {
    if (row.rating >= 4 && random.nextFloat() < share)
      positives.push({ userId: row.userId, movieId: row.movieId, timestamp: row.timestamp });
    else kept.push(row);
  }
  const full = datasetFromRows(fold.train, space);
  const train = datasetFromRows(kept, space);
  const test = datasetFromRows(fold.test, space);
  const out = process.stdout;
  out.write(
    `${plan.dataset}, temporal protocol: ${fold.train.length} training ratings, ${fold.test.length} test; ` +
      `${positives.length} training ratings ≥ 4 (share ${share}, seed ${seed}) turned into WATCH events, ` +
      `${kept.length} ratings kept\n`,
  );

  // The offset serving uses; --offsets chooses again, on validation only (each user's latest 20% of
  // the kept training ratings), never on the test set.
  let offset = DEFAULT_IMPLICIT_RULE.offset;
  if (offsets.length > 0) {
    const { fit, validation } = temporalHoldout(train, 0.2);
    const ndcgOn = async (strategy: ServedTopNVariant, on: RatingsDataset) => {
      await strategy.fit(on);
      return (rankingMetrics(strategy, on, validation) as RankingMetrics).ndcg10;
    };
    out.write(
      '\nvalidation (latest 20% of the kept training ratings):\n| variant | val NDCG@10 |\n|---|---:|\n',
    );
    out.write(
      `| ratings only | ${(await ndcgOn(new ServedTopNVariant('base', choice, seed), fit)).toFixed(4)} |\n`,
    );
    let best = { offset: offsets[0], ndcg: -1 };
    for (const candidate of offsets) {
      const augmented = withImplicitRatings(fit, positives, { offset: candidate }).dataset;
      const ndcg = await ndcgOn(new ServedTopNVariant(`+${candidate}`, choice, seed), augmented);
      out.write(`| WATCH as user mean + ${candidate} | ${ndcg.toFixed(4)} |\n`);
      if (ndcg > best.ndcg) best = { offset: candidate, ndcg };
    }
    out.write(`chosen on validation: user mean + ${best.offset}\n`);
    offset = best.offset;
  }

  const { dataset: withWatch, added } = withImplicitRatings(train, positives, { offset });
  const watched = watchedByUser(positives, train);
  const starRows = buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
  const variant = (name: string, rows: CsrMatrix | null = null, leftOut = new Map<number, number[]>()) =>
    new ServedTopNVariant(name, choice, seed, rows, leftOut);
  const variants: [string, ServedTopNVariant, RatingsDataset][] = [
    ['ratings only (the events ignored)', variant('a'), train],
    ['ratings only, watched movies left out of the list', variant('b', null, watched), train],
    [
      `before: WATCH (mean + ${offset}) in the model's training data only, the user's row from stars, watched left out`,
      variant('c', starRows, watched),
      withWatch,
    ],
    [
      `served now: WATCH ≥ ${WATCH_POSITIVE_FRACTION} as user mean + ${offset} in training and in the user's row, watched left out`,
      variant('d', null, watched),
      withWatch,
    ],
    ['reference: every training rating kept as a rating', variant('e'), full],
  ];
  out.write(
    `\ntest (each user's latest 20% of ratings, relevant ≥ 4), ${added} events added, top-N ${choice}:\n` +
      '| variant | model | NDCG@10 | Recall@10 | users | fit s |\n|---|---|---:|---:|---:|---:|\n',
  );
  for (const [label, strategy, on] of variants) {
    const started = performance.now();
    await strategy.fit(on);
    const seconds = (performance.now() - started) / 1000;
    const metrics = rankingMetrics(strategy, on, test) as RankingMetrics;
    out.write(
      `| ${label} | ${strategy.kind} | ${metrics.ndcg10.toFixed(4)} | ${metrics.recall10.toFixed(4)} | ${metrics.users} | ${seconds.toFixed(1)} |\n`,
    );
  }
  out.write(
    `\nuptime ${Math.round(uptime())} s, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
}

runCli(main, USAGE);
