import { PreferenceModel } from '../../fixtures/experiment-simulation';
import { generateSyntheticCatalog, SyntheticCatalog } from '../../fixtures/synthetic';
import { Mulberry32 } from '../../src/engines/collaborative/kernels/prng';
import { CollaborativeEngine } from '../../src/engines/collaborative/collaborative-engine';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { CachedRatingHistory, SqlRatingHistory } from '../../src/engines/rating-history';
import { StatisticalEngine } from '../../src/engines/statistical';
import { assignVariant } from '../../src/experiments/assignment';
import { parseExperimentsCommand, runExperimentsCommand } from '../../src/experiments/cli-commands';
import { FeedbackEvent, ServedList, userOutcomes } from '../../src/experiments/outcomes';
import { experimentOutcomes } from '../../src/experiments/report-store';
import { trainFromDatabase } from '../../training/database';
import { DEFAULT_TRAIN_OPTIONS } from '../../training/train';
import { graphql, startTestApi, TestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { importSyntheticCatalog } from '../helpers/synthetic-database';

const RECOMMEND = `query ($userId: Int!, $strategy: Strategy) {
  recommendations(userId: $userId, first: 10, strategy: $strategy) {
    rank listId experiment variant strategyUsed movie { id }
  }
}`;
const REPORT = `query ($name: String!, $since: DateTimeISO, $until: DateTimeISO) {
  experimentReport(name: $name, since: $since, until: $until) {
    experiment status control markdown
    variants {
      variant isControl users lists impressions clicks
      ctr { value ciLow ciHigh n difference lift pValue pValueIid }
      ndcg10 { value n pValue }
    }
  }
}`;

interface Item {
  rank: number;
  listId: string;
  experiment: string | null;
  variant: string | null;
  strategyUsed: string;
  movie: { id: number };
}
interface MetricResult {
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  difference: number | null;
  lift: number | null;
  pValue: number | null;
  pValueIid: number | null;
}
interface ReportResult {
  experiment: string;
  status: string;
  control: string;
  markdown: string;
  variants: {
    variant: string;
    isControl: boolean;
    users: number;
    lists: number;
    impressions: number;
    clicks: number;
    ctr: MetricResult;
    ndcg10: { value: number | null; n: number; pValue: number | null };
  }[];
}

/**
 * The whole path of an A/B experiment through the real API: define it (the CLI's commands), serve
 * lists to the synthetic catalog's users, whose click probability follows the very factors their
 * ratings were generated from, record what they do, and read the report over GraphQL. The
 * collaborative model learnt those factors from the ratings; the statistical ranking is the same for
 * everyone, so COLLABORATIVE truly ranks better for these users (the test checks that too, by the
 * planted click probabilities of the lists each variant served).
 */
describe('A/B experiments through the API', () => {
  let db: TestDatabase;
  let api: TestApi;
  let catalog: SyntheticCatalog;
  let preferences: PreferenceModel;
  const out: string[] = [];
  const expected = new Map<string, number>();

  beforeAll(async () => {
    db = await createTestDatabase(6);
    catalog = generateSyntheticCatalog({
      seed: 23,
      users: 400,
      movies: 300,
      ratingsPerUser: { min: 60, max: 100 },
    });
    await importSyntheticCatalog(db.dataSource, catalog);
    const store = new ModelStore(db.dataSource);
    await trainFromDatabase(db.dataSource, store, {
      biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 15 },
      topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
    });
    const history = new CachedRatingHistory(new SqlRatingHistory(db.dataSource));
    const collaborative = new CollaborativeEngine(db.dataSource, store, { history });
    await collaborative.reload();
    const statistical = new StatisticalEngine(db.dataSource, { globalStatsMaxAgeMs: 0 }, history);
    api = await startTestApi(
      db.dataSource,
      { statistical, predictor: collaborative, all: [collaborative, statistical], history },
      { RATE_LIMIT_RPS: '0' },
    );
    // Users click by their planted taste alone (p_u · q_m, three times as decisive as in their
    // ratings); the movies' shared quality is left out, so the popular list is no better for anyone.
    const { truth } = catalog;
    preferences = new PreferenceModel({
      userFactors: truth.userFactors.map((factors) => factors.map((x) => 3 * x)),
      movieFactors: truth.movieFactors,
      movieBias: new Array<number>(truth.movieFactors.length).fill(0),
      propensity: new Array<number>(catalog.users.length).fill(0),
      clickBias: -2,
    });
  });

  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  async function cli(...argv: string[]): Promise<void> {
    await runExperimentsCommand(
      api.services.experiments,
      parseExperimentsCommand(argv),
      (t) => out.push(t),
      () => undefined,
    );
  }

  async function recommend(userId: number, strategy?: string): Promise<Item[]> {
    const result = await graphql<{ recommendations: Item[] }>(api.url, RECOMMEND, { userId, strategy });
    expect(result.errors).toBeUndefined();
    return result.data!.recommendations;
  }

  /** Every user gets a list; their answers (seeded) are recorded as recordEvents records them. */
  async function serveEveryone(experiment: string, seed: number): Promise<void> {
    const rng = new Mulberry32(seed);
    const stored = (await api.services.experiments.store.get(experiment))!;
    for (const userId of catalog.users) {
      const items = await recommend(userId);
      const variant = assignVariant(stored, userId);
      expect(items.map((i) => [i.experiment, i.variant, i.strategyUsed])).toEqual(
        items.map(() => [experiment, variant.name, variant.strategy]),
      );
      const list: ServedList = {
        listId: items[0].listId,
        userId,
        variant: variant.name,
        movieIds: items.map((i) => i.movie.id),
        servedAt: Date.now(),
      };
      expected.set(
        variant.name,
        (expected.get(variant.name) ?? 0) +
          list.movieIds.reduce((sum, m, k) => sum + preferences.clickProbability(userId, m, k), 0),
      );
      const events = preferences.respond(list, rng);
      await api.services.feedback.record(
        userId,
        events.map((e, i) => ({
          clientEventId: `${list.listId}-${i}`,
          listId: e.listId,
          movieId: e.movieId,
          type: e.type,
          value: e.value,
          at: new Date(e.occurredAt),
        })),
      );
    }
    await api.services.servedLists.flush();
  }

  /**
   * The simulated answers come up to a couple of minutes after their list (the service accepts 5 min
   * of clock skew), and a report counts events up to its `until`: so the window ends 10 min ahead.
   */
  async function report(name: string): Promise<ReportResult> {
    const until = new Date(Date.now() + 600_000).toISOString();
    const anonymous = await graphql(api.url, REPORT, { name, until });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const { secret } = await api.services.keys.create(`report-${name}-${Date.now()}`, ['read']);
    const result = await graphql<{ experimentReport: ReportResult }>(
      api.url,
      REPORT,
      { name, until },
      { authorization: `Bearer ${secret}` },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.experimentReport;
  }

  it('serves each user their variant, and the report finds the variant that truly ranks better', async () => {
    await cli(
      'create',
      '--name',
      'cf-vs-popular',
      '--variant',
      'control:strategy=STATISTICAL:share=0.5',
      '--variant',
      'cf:strategy=COLLABORATIVE:share=0.5',
    );
    // A request that fixes its strategy is served as asked and belongs to no experiment.
    const own = await recommend(1, 'STATISTICAL');
    expect(own.every((i) => i.experiment === null && i.variant === null)).toBe(true);

    await serveEveryone('cf-vs-popular', 1);
    const rows = await db.dataSource.query(
      `SELECT experiment, variant, strategy_used, count(*)::int AS n FROM recommendation_lists
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    expect(rows).toEqual([
      { experiment: 'cf-vs-popular', variant: 'cf', strategy_used: 'COLLABORATIVE', n: expect.any(Number) },
      {
        experiment: 'cf-vs-popular',
        variant: 'control',
        strategy_used: 'STATISTICAL',
        n: expect.any(Number),
      },
      { experiment: null, variant: null, strategy_used: 'STATISTICAL', n: 1 },
    ]);

    const result = await report('cf-vs-popular');
    const [control, cf] = result.variants;
    const truth = (name: string, lists: number) => (expected.get(name) ?? 0) / (lists * 10);
    process.stdout.write(
      `A/B through the API (${catalog.users.length} users; expected CTR by the planted click ` +
        `probabilities: control ${truth('control', control.lists).toFixed(4)}, cf ${truth('cf', cf.lists).toFixed(4)}):\n` +
        `${result.markdown}\n`,
    );
    // The variant that truly ranks better for these users, by the planted probabilities of the lists served.
    expect(truth('cf', cf.lists)).toBeGreaterThan(truth('control', control.lists));
    expect(control).toMatchObject({ variant: 'control', isControl: true });
    expect(control.users + cf.users).toBe(catalog.users.length);
    expect(control.lists + cf.lists).toBe(catalog.users.length);
    // Every item of every list got an IMPRESSION (a user's list can be shorter than 10).
    const [{ items }] = await db.dataSource.query(
      `SELECT sum(cardinality(movie_ids))::int AS items FROM recommendation_lists WHERE variant = 'cf'`,
    );
    expect(cf.impressions).toBe(items);
    expect(cf.ctr.lift).toBeGreaterThan(0);
    expect(cf.ctr.pValue).toBeLessThan(0.01);
    expect(cf.ctr.ciLow).toBeLessThan(cf.ctr.value!);
    expect(cf.ndcg10.value).toBeGreaterThan(control.ndcg10.value!);
    expect(result.markdown).toContain('| cf |');
  });

  it('computes in SQL exactly what the reference rules compute from the same lists and events', async () => {
    const window = { since: 0, until: Date.now() + 3600_000 };
    const lists = (
      await db.dataSource.query(
        `SELECT list_id, user_id, variant, movie_ids, served_at FROM recommendation_lists WHERE experiment = 'cf-vs-popular'`,
      )
    ).map(
      (r: {
        list_id: string;
        user_id: number;
        variant: string;
        movie_ids: number[];
        served_at: Date;
      }): ServedList => ({
        listId: r.list_id,
        userId: r.user_id,
        variant: r.variant,
        movieIds: r.movie_ids,
        servedAt: r.served_at.getTime(),
      }),
    );
    const events = (
      await db.dataSource.query(
        `SELECT user_id, list_id, movie_id, type, value, occurred_at FROM feedback_events`,
      )
    ).map(
      (r: {
        user_id: number;
        list_id: string | null;
        movie_id: number;
        type: FeedbackEvent['type'];
        value: number | null;
        occurred_at: Date;
      }): FeedbackEvent => ({
        userId: r.user_id,
        listId: r.list_id,
        movieId: r.movie_id,
        type: r.type,
        value: r.value,
        occurredAt: r.occurred_at.getTime(),
      }),
    );
    const fromSql = await experimentOutcomes(db.dataSource, 'cf-vs-popular', window);
    const reference = userOutcomes(lists, events, window);
    const key = (o: { variant: string; userId: number }) => `${o.variant}|${o.userId}`;
    const byKey = new Map(reference.map((o) => [key(o), o]));
    expect(fromSql).toHaveLength(reference.length);
    for (const row of fromSql) {
      const expected = byKey.get(key(row))!;
      expect({ ...row, ndcgSum: 0, ndcgSumSq: 0 }).toEqual({ ...expected, ndcgSum: 0, ndcgSumSq: 0 });
      expect(row.ndcgSum).toBeCloseTo(expected.ndcgSum, 9);
      expect(row.ndcgSumSq).toBeCloseTo(expected.ndcgSumSq, 9);
    }
    expect(fromSql.some((o) => o.clicked > 0 && o.ndcgLists > 0)).toBe(true);
  });

  it('finds no difference between identical variants (A/A), after the A/B is stopped', async () => {
    const second = cli(
      'create',
      '--name',
      'aa',
      '--variant',
      'a:strategy=HYBRID:share=0.5',
      '--variant',
      'b:strategy=CONTENT:share=0.5',
    );
    await expect(second).rejects.toMatchObject({ reason: 'ANOTHER_EXPERIMENT_ACTIVE' });
    await expect(
      cli('create', '--name', 'aa', '--variant', 'x:strategy=HYBRID:share=1'),
    ).rejects.toMatchObject({
      reason: 'TOO_FEW_VARIANTS',
    });
    await cli('stop', '--name', 'cf-vs-popular');
    const aa = [
      '--variant',
      'a1:strategy=COLLABORATIVE:share=0.5',
      '--variant',
      'a2:strategy=COLLABORATIVE:share=0.5',
    ];
    await expect(cli('create', '--name', 'cf-vs-popular', ...aa)).rejects.toMatchObject({
      reason: 'EXPERIMENT_EXISTS',
    });
    await cli('create', '--name', 'aa', ...aa);
    await serveEveryone('aa', 2);
    const result = await report('aa');
    const [, a2] = result.variants;
    expect(a2.ctr.pValue).toBeGreaterThan(0.05);
    process.stdout.write(`A/A through the API (${catalog.users.length} users):\n${result.markdown}\n`);

    // The stopped experiment's report stays, over its own run.
    const stopped = await report('cf-vs-popular');
    expect(stopped.status).toBe('STOPPED');
    expect(stopped.variants[0].lists + stopped.variants[1].lists).toBe(catalog.users.length);
  });

  it('answers coded errors for an unknown experiment and an empty window, and only to a read key', async () => {
    const writer = await api.services.keys.create('experiments-writer', ['write']);
    const forbidden = await graphql(
      api.url,
      REPORT,
      { name: 'aa' },
      { authorization: `Bearer ${writer.secret}` },
    );
    expect(forbidden.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'read' });
    const reader = await api.services.keys.create('experiments-reader', ['read']);
    const auth = { authorization: `Bearer ${reader.secret}` };
    const unknown = await graphql(api.url, REPORT, { name: 'nope' }, auth);
    expect(unknown.errors?.[0].extensions).toMatchObject({
      code: 'NOT_FOUND',
      reason: 'EXPERIMENT_NOT_FOUND',
    });
    const empty = await graphql(
      api.url,
      REPORT,
      {
        name: 'aa',
        since: '2026-01-02T00:00:00Z',
        until: '2026-01-01T00:00:00Z',
      },
      auth,
    );
    expect(empty.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_WINDOW' });
  });
});
