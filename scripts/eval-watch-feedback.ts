/**
 * Does WATCH feedback help the collaborative top-N model? On a MovieLens release (ml-latest-small)
 * under the temporal protocol (each user's latest 20% of ratings is the test set), a seeded random
 * share of the TRAINING ratings ≥ 4 is turned into WATCH events (watched ≥ 80%) instead of ratings,
 * as if those users had watched without rating. Then PureSVD (the served top-N model, default
 * options) is fitted with and without the events and NDCG@10 / Recall@10 measured on the test set.
 * The one choice (the rating-like value an event stands for: the user's mean + offset) is made on a
 * validation split of the training data (each user's latest 20%), never on the test set.
 *
 *   node -r @swc-node/register scripts/eval-watch-feedback.ts --data <ml-latest-small> \
 *     [--share 0.5] [--seed 1] [--offsets 0,0.5,1,1.5]
 */
import { loadavg, uptime } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  pureSvdScores,
  pureSvdUserVector,
  type PureSvdModel,
} from '../src/engines/collaborative/kernels/pure-svd';
import { Mulberry32 } from '../src/engines/collaborative/kernels/prng';
import { buildCsr, type CsrMatrix } from '../src/engines/collaborative/kernels/sparse';
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
import { trainPureSvd } from '../training/top-n';
import { temporalHoldout } from '../training/validation-split';

const USAGE = `usage: eval-watch-feedback.ts --data <ml-latest-small dir> [--share 0.5] [--seed 1] [--offsets 0,0.5,1,1.5]

Turns a seeded random share of the training ratings >= 4 (temporal protocol) into WATCH events
(fraction >= ${WATCH_POSITIVE_FRACTION}) and prints NDCG@10 / Recall@10 on the held-out test set of PureSVD
fitted without and with the events; the events' rating-like value (user mean + offset) is chosen
on a validation split of the training data.`;

/**
 * PureSVD whose item space is fitted on one dataset and whose users are scored from the rows of
 * another, leaving some movies out of each user's ranking: the served model folds a user in from
 * their ratings, so a variant can score as serving would.
 */
class PureSvdVariant implements EvaluationStrategy {
  private model: PureSvdModel | null = null;
  private readonly vector = new Float64Array(DEFAULT_PURE_SVD_OPTIONS.rank);

  constructor(
    readonly name: string,
    private readonly seed: number,
    private readonly userRows: CsrMatrix | null = null,
    private readonly leftOut: ReadonlyMap<number, readonly number[]> = new Map(),
  ) {}

  private rows: CsrMatrix | null = null;

  fit(train: RatingsDataset): void {
    this.model = trainPureSvd(train, { ...DEFAULT_PURE_SVD_OPTIONS, seed: this.seed }).model;
    this.rows =
      this.userRows ?? buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
  }

  scoreAll(user: number, out: Float32Array): void {
    const model = this.model as PureSvdModel;
    const rows = this.rows as CsrMatrix;
    const start = rows.offsets[user];
    const end = rows.offsets[user + 1];
    pureSvdUserVector(
      model,
      rows.columns.subarray(start, end),
      rows.values.subarray(start, end),
      this.vector,
    );
    pureSvdScores(model, this.vector, out);
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
  });
  const data = stringFlag(values, 'data');
  if (!data) throw new UsageError('--data is required');
  const share = numberFlag(values, 'share', 0.5);
  if (!(share > 0 && share < 1)) throw new UsageError('--share must be between 0 and 1');
  const seed = integerFlag(values, 'seed', 1);
  const offsets = (stringFlag(values, 'offsets') ?? '0,0.5,1,1.5').split(',').map(Number);
  if (offsets.some((o) => !Number.isFinite(o))) throw new UsageError('--offsets must be numbers');

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

  // The choice, on validation only: each user's latest 20% of the kept training ratings.
  const { fit, validation } = temporalHoldout(train, 0.2);
  const ndcgOn = (strategy: EvaluationStrategy, on: RatingsDataset, against: RatingsDataset) => {
    strategy.fit(on);
    return rankingMetrics(strategy, on, against) as RankingMetrics;
  };
  out.write(
    '\nvalidation (latest 20% of the kept training ratings):\n| variant | val NDCG@10 |\n|---|---:|\n',
  );
  const base = ndcgOn(new PureSvdVariant('ratings only', seed), fit, validation);
  out.write(`| ratings only | ${base.ndcg10.toFixed(4)} |\n`);
  let best = { offset: offsets[0], ndcg: -1 };
  for (const offset of offsets) {
    const augmented = withImplicitRatings(fit, positives, { offset }).dataset;
    const result = ndcgOn(new PureSvdVariant(`watch → mean + ${offset}`, seed), augmented, validation);
    out.write(`| WATCH as user mean + ${offset} | ${result.ndcg10.toFixed(4)} |\n`);
    if (result.ndcg10 > best.ndcg) best = { offset, ndcg: result.ndcg10 };
  }
  out.write(`chosen on validation: user mean + ${best.offset}\n`);

  const { dataset: withWatch, added } = withImplicitRatings(train, positives, { offset: best.offset });
  const watched = watchedByUser(positives, train);
  const starRows = buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
  const variants: [string, EvaluationStrategy, RatingsDataset][] = [
    ['ratings only (the events ignored)', new PureSvdVariant('a', seed), train],
    [
      'ratings only, watched movies left out of the list',
      new PureSvdVariant('b', seed, null, watched),
      train,
    ],
    [
      `WATCH ≥ ${WATCH_POSITIVE_FRACTION} as user mean + ${best.offset} (model and the user's row)`,
      new PureSvdVariant('c', seed),
      withWatch,
    ],
    [
      `WATCH in the model's item space only, users folded in from their stars, watched left out`,
      new PureSvdVariant('d', seed, starRows, watched),
      withWatch,
    ],
    ['reference: every training rating kept as a rating', new PureSvdVariant('e', seed), full],
  ];
  out.write(
    `\ntest (each user's latest 20% of ratings, relevant ≥ 4), ${added} events added:\n` +
      '| variant | NDCG@10 | Recall@10 | users | fit s |\n|---|---:|---:|---:|---:|\n',
  );
  for (const [label, strategy, on] of variants) {
    const started = performance.now();
    strategy.fit(on);
    const seconds = (performance.now() - started) / 1000;
    const metrics = rankingMetrics(strategy, on, test) as RankingMetrics;
    out.write(
      `| ${label} | ${metrics.ndcg10.toFixed(4)} | ${metrics.recall10.toFixed(4)} | ${metrics.users} | ${seconds.toFixed(1)} |\n`,
    );
  }
  out.write(
    `\nuptime ${Math.round(uptime())} s, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
}

runCli(main, USAGE);
