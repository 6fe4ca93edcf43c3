import {
  EngineName,
  EngineNotReadyError,
  EngineRole,
  EngineStatus,
  RecommendationEngine,
  RecommendationRequest,
  ScoredMovie,
} from '../../src/engines/engine';
import { genreSimilarity, mmrRerank } from '../../src/orchestrator/diversity';
import { mergeScored, mergeScores, minMaxNormalise } from '../../src/orchestrator/merge';
import { Orchestrator, OrchestratorCatalog, ServedList } from '../../src/orchestrator/orchestrator';
import {
  DEFAULT_WEIGHTS,
  InvalidWeightsError,
  resolveWeights,
  weightsInForce,
  type WeightsInForce,
} from '../../src/orchestrator/weights';

/** An engine over a fixed score table: enough to check routing and merging without a database. */
class TableEngine implements RecommendationEngine {
  requests: RecommendationRequest[] = [];
  constructor(
    readonly name: EngineName,
    private readonly table: Map<number, ScoredMovie>,
    private readonly readiness: EngineStatus = { ready: true },
  ) {}
  status(): EngineStatus {
    return this.readiness;
  }
  async recommend(request: RecommendationRequest): Promise<ScoredMovie[]> {
    this.requests.push(request);
    return [...this.table.values()]
      .filter((s) => !request.exclude?.has(s.movieId))
      .sort((a, b) => b.score - a.score)
      .slice(0, request.limit);
  }
  roles: (EngineRole | undefined)[] = [];
  async scoreMovies(
    _userId: number,
    ids: readonly number[],
    role?: EngineRole,
  ): Promise<Map<number, ScoredMovie>> {
    this.roles.push(role);
    return new Map(
      ids.filter((id) => this.table.has(id)).map((id) => [id, this.table.get(id) as ScoredMovie]),
    );
  }
}

const table = (entries: [number, number][], evidence?: ScoredMovie['evidence']) =>
  new Map(entries.map(([movieId, score]) => [movieId, { movieId, score, evidence }]));

const MOVIES = [
  { id: 1, title: 'Heat', genres: ['Action', 'Crime'] },
  { id: 2, title: 'Alien', genres: ['Horror', 'Sci-Fi'] },
  { id: 3, title: 'Toy Story', genres: ['Animation', 'Comedy'] },
  { id: 4, title: 'Aliens', genres: ['Action', 'Sci-Fi'] },
  { id: 5, title: 'Casino', genres: ['Crime', 'Drama'] },
  { id: 6, title: 'Clueless', genres: ['Comedy', 'Romance'] },
  { id: 7, title: 'Se7en', genres: ['Mystery', 'Thriller'] },
];

function catalogWith(ratings: Map<number, number>): OrchestratorCatalog {
  return {
    ratingsOf: async () => ({ version: 1, ratings }),
    moviesByIds: async (ids) => MOVIES.filter((m) => ids.includes(m.id)),
  };
}

describe('weights', () => {
  it('fills defaults, validates and renormalises over the engines that take part', () => {
    expect(resolveWeights(undefined)).toEqual({ collaborative: 0.5, content: 0.3, statistical: 0.2 });
    expect(resolveWeights({ content: 0 }, ['collaborative', 'content', 'statistical'])).toEqual({
      collaborative: 0.5 / 0.7,
      content: 0,
      statistical: 0.2 / 0.7,
    });
    expect(
      resolveWeights({ collaborative: 2, content: 1, statistical: 1 }, ['collaborative', 'statistical']),
    ).toEqual({ collaborative: 2 / 3, content: 0, statistical: 1 / 3 });
    expect(() => resolveWeights({ content: -1 })).toThrow(InvalidWeightsError);
    expect(() => resolveWeights({ content: Number.NaN })).toThrow(/finite/);
    expect(() => resolveWeights({ collaborative: 0, content: 0, statistical: 0 })).toThrow(/all be zero/);
  });
});

describe('weights in force (HYBRID_WEIGHTS)', () => {
  const calibrated = {
    modelVersion: 7,
    weights: { collaborative: 0.7, content: 0.1, statistical: 0.2 },
    validationNdcg10: 0.25,
    defaultValidationNdcg10: 0.22,
    validationScheme: 'temporal',
  };

  it('serves the specified weights under `default`, whatever the model calibrated', () => {
    const inForce = weightsInForce('default', calibrated, 7);
    expect(inForce.weights).toEqual({ collaborative: 0.5, content: 0.3, statistical: 0.2 });
    expect(inForce).toMatchObject({ source: 'DEFAULT', validationNdcg10: 0.22, modelVersion: 7, note: null });
  });

  it('serves the active version’s calibrated weights under `calibrated`, and says why when it has none', () => {
    expect(weightsInForce('calibrated', calibrated, 7)).toMatchObject({
      weights: calibrated.weights,
      source: 'CALIBRATED',
      validationNdcg10: 0.25,
      defaultValidationNdcg10: 0.22,
      modelVersion: 7,
    });
    const fallback = weightsInForce('calibrated', null, 3);
    expect(fallback).toMatchObject({ weights: DEFAULT_WEIGHTS, source: 'DEFAULT', modelVersion: 3 });
    expect(fallback.note).toMatch(/model version 3 was trained without calibrated weights/);
    expect(weightsInForce('calibrated', null, null).note).toMatch(/no collaborative model is active/);
  });

  it('fills a request’s missing weights from the weights in force', () => {
    const resolved = resolveWeights({ content: 0 }, undefined, calibrated.weights);
    expect(resolved.content).toBe(0);
    expect(resolved.collaborative).toBeCloseTo(0.7 / 0.9, 12);
    expect(resolved.statistical).toBeCloseTo(0.2 / 0.9, 12);
  });
});

describe('merge', () => {
  it('min-max normalises, mapping a constant list to 1', () => {
    expect([
      ...minMaxNormalise(
        new Map([
          [1, 2],
          [2, 4],
          [3, 3],
        ]),
      ).values(),
    ]).toEqual([0, 1, 0.5]);
    expect([
      ...minMaxNormalise(
        new Map([
          [1, 7],
          [2, 7],
        ]),
      ).values(),
    ]).toEqual([1, 1]);
  });

  it('sums weighted normalised scores and dedups across engines', () => {
    const merged = mergeScores(
      {
        collaborative: new Map([
          [1, 4.5],
          [2, 3.5],
          [3, 2.5],
        ]),
        statistical: new Map([
          [3, 10],
          [4, 0],
        ]),
      },
      { collaborative: 0.6, content: 0, statistical: 0.4 },
    );
    expect(merged.map((m) => m.movieId)).toEqual([1, 3, 2, 4]);
    const byId = new Map(merged.map((m) => [m.movieId, m]));
    expect(byId.get(3)?.score).toBeCloseTo(0.4);
    expect(byId.get(2)?.score).toBeCloseTo(0.3);
    expect(byId.get(3)?.engineScores).toEqual({ collaborative: 0, content: null, statistical: 1 });
  });
  it("merges the engines' scored movies to the same candidates, scores and order as their scores alone", () => {
    // Ties, a constant engine, movies only one engine has, and scores with no short binary form.
    const lists: Partial<Record<EngineName, [number, number][]>> = {
      collaborative: [
        [8, 0.1 + 0.2],
        [3, 1 / 3],
        [5, 0.3],
        [9, -2.75],
      ],
      content: [
        [5, 0.7],
        [2, 0.7],
      ],
      statistical: [
        [9, 4.1],
        [1, 3.3],
        [3, 3.9],
        [8, 4.1],
      ],
    };
    const weights = { collaborative: 0.5, content: 0.3, statistical: 0.2 };
    const asScores = (name: EngineName) => new Map(lists[name]);
    const asMovies = (name: EngineName) =>
      new Map((lists[name] ?? []).map(([movieId, score]) => [movieId, { movieId, score }]));
    const expected = mergeScores(
      {
        collaborative: asScores('collaborative'),
        content: asScores('content'),
        statistical: asScores('statistical'),
      },
      weights,
    );
    const merged = mergeScored(
      {
        collaborative: asMovies('collaborative'),
        content: asMovies('content'),
        statistical: asMovies('statistical'),
      },
      weights,
    );
    expect(merged).toEqual(expected);
    // 5: 0.5·0.989 + 0.3 · 1 (content constant); 8: 0.5·0.989 + 0.2·1; 3: 0.5·1 + 0.2·0.75; 2: 0.3; 9: 0.2.
    expect(merged.map((c) => c.movieId)).toEqual([5, 8, 3, 2, 9, 1]);
    expect(merged[0].engineScores).toEqual({
      collaborative: expect.any(Number),
      content: 1,
      statistical: null,
    });
  });
});

describe('diversity', () => {
  const genresOf = new Map(MOVIES.map((m) => [m.id, m.genres]));
  const ranked = [
    { movieId: 1, score: 1 },
    { movieId: 5, score: 0.95 },
    { movieId: 4, score: 0.9 },
    { movieId: 6, score: 0.5 },
  ];
  it('keeps the relevance order at diversity 0', () => {
    expect(mmrRerank(ranked, 3, 0, genreSimilarity(genresOf)).map((r) => r.movieId)).toEqual([1, 5, 4]);
  });
  it('pushes a movie sharing genres with an already chosen one down', () => {
    // Heat (Action, Crime) first; Casino shares Crime, Aliens shares Action, Clueless shares nothing.
    expect(mmrRerank(ranked, 3, 0.6, genreSimilarity(genresOf)).map((r) => r.movieId)).toEqual([1, 6, 5]);
  });
});

describe('Orchestrator', () => {
  const fiveRatings = new Map([
    [1, 5],
    [2, 4],
    [10, 3],
    [11, 2],
    [12, 4.5],
  ]);

  it('routes a user with fewer than 5 ratings to STATISTICAL and says why', async () => {
    const statistical = new TableEngine(
      'statistical',
      table([
        [3, 4.2],
        [4, 4.0],
      ]),
    );
    const collaborative = new TableEngine('collaborative', table([[5, 4.9]]));
    const orchestrator = new Orchestrator([statistical, collaborative], catalogWith(new Map([[1, 5]])));
    const list = await orchestrator.recommend({ userId: 1, strategy: 'HYBRID', first: 5 });
    expect(list.strategyUsed).toBe('STATISTICAL');
    expect(collaborative.requests).toHaveLength(0);
    expect(list.items.map((i) => i.movieId)).toEqual([3, 4]);
    expect(list.items[0].explanation.text).toMatch(/rate 4 more movies/);
  });

  it('merges all three engines for HYBRID, excluding rated movies, with per-engine scores', async () => {
    const evidence = [{ movieId: 1, rating: 5, weight: 0.9 }];
    const engines = [
      new TableEngine(
        'collaborative',
        table(
          [
            [1, 9],
            [4, 4.8],
            [5, 4.0],
            [6, 3.0],
          ],
          evidence,
        ),
      ),
      new TableEngine(
        'content',
        table(
          [
            [4, 0.9],
            [7, 0.8],
            [6, 0.1],
          ],
          evidence,
        ),
      ),
      new TableEngine(
        'statistical',
        table([
          [3, 4.3],
          [4, 4.1],
          [5, 3.9],
          [6, 3.0],
        ]),
      ),
    ];
    const orchestrator = new Orchestrator(engines, catalogWith(fiveRatings));
    const list = await orchestrator.recommend({ userId: 1, strategy: 'HYBRID', first: 3 });
    expect(list.strategyUsed).toBe('HYBRID');
    // Each engine is asked as one of HYBRID's: the content engine scores without its popularity prior.
    for (const engine of engines) {
      expect(engine.requests.map((request) => request.role)).toEqual(['merged']);
      expect(new Set(engine.roles)).toEqual(new Set(['merged']));
    }
    // 4: 0.5·1 + 0.3·1 + 0.2·(4.1−3)/1.3; 5: 0.5·0.5 + 0.2·0.9/1.3; 7: 0.3·(0.8−0.1)/0.8; 3: 0.2·1.
    expect(list.items.map((i) => i.movieId)).toEqual([4, 5, 7]);
    expect(list.items.map((i) => i.rank)).toEqual([1, 2, 3]);
    expect(list.items.some((i) => i.movieId === 1)).toBe(false);
    expect(list.items[0].engineScores).toEqual({
      collaborative: 1,
      content: 1,
      statistical: expect.any(Number),
    });
    expect(list.items[2].engineScores).toEqual({ collaborative: null, content: 0.875, statistical: null });
    expect(list.items[0].explanation).toEqual({ text: 'Because you rated Heat 5★', movieIds: [1] });
  });

  it('asks an engine for its own list as itself: CONTENT is answered by the content engine alone', async () => {
    const content = new TableEngine('content', table([[4, 0.9]]));
    const statistical = new TableEngine('statistical', table([[3, 4.3]]));
    const orchestrator = new Orchestrator([content, statistical], catalogWith(fiveRatings));
    const list = await orchestrator.recommend({ userId: 1, strategy: 'CONTENT', first: 3 });
    expect(list.items.map((i) => i.movieId)).toEqual([4]);
    expect(content.requests.map((request) => request.role)).toEqual(['alone']);
    expect(content.roles).toEqual([]);
  });

  it('proceeds without an engine that is not ready, and reports it', async () => {
    const orchestrator = new Orchestrator(
      [
        new TableEngine(
          'collaborative',
          table([
            [4, 4.8],
            [5, 4.0],
          ]),
        ),
        new TableEngine('content', table([[7, 1]]), {
          ready: false,
          reason: 'index building: 40%',
          progress: 0.4,
        }),
        new TableEngine(
          'statistical',
          table([
            [4, 4.1],
            [5, 3.9],
          ]),
        ),
      ],
      catalogWith(fiveRatings),
    );
    const list = await orchestrator.recommend({ userId: 1, strategy: 'HYBRID', first: 5 });
    expect(list.skippedEngines).toEqual([{ engine: 'content', reason: 'index building: 40%' }]);
    expect(list.items.every((i) => i.engineScores.content === null)).toBe(true);
    await expect(orchestrator.recommend({ userId: 1, strategy: 'CONTENT', first: 5 })).rejects.toThrow(
      EngineNotReadyError,
    );
  });

  it('carries the index progress when the one requested engine is still building', async () => {
    const orchestrator = new Orchestrator(
      [
        new TableEngine('content', table([[7, 1]]), {
          ready: false,
          reason: 'index building: 40%',
          progress: 0.4,
        }),
      ],
      catalogWith(fiveRatings),
    );
    await expect(orchestrator.recommend({ userId: 1, strategy: 'CONTENT', first: 5 })).rejects.toMatchObject({
      engine: 'content',
      reason: 'index building: 40%',
      progress: 0.4,
    });
  });

  it('serves STATISTICAL, and says so, while the first collaborative model trains', async () => {
    const training: EngineStatus = { ready: false, reason: 'training the first model' };
    const orchestrator = new Orchestrator(
      [
        new TableEngine('collaborative', table([[4, 4.8]]), training),
        new TableEngine('content', table([[7, 1]]), { ready: false, reason: 'index building: 40%' }),
        new TableEngine(
          'statistical',
          table([
            [4, 4.1],
            [5, 3.9],
          ]),
        ),
      ],
      catalogWith(fiveRatings),
    );
    const collaborative = await orchestrator.recommend({ userId: 1, strategy: 'COLLABORATIVE', first: 5 });
    expect(collaborative.strategyUsed).toBe('STATISTICAL');
    expect(collaborative.items.map((i) => [i.movieId, i.strategyUsed])).toEqual([
      [4, 'STATISTICAL'],
      [5, 'STATISTICAL'],
    ]);
    expect(collaborative.skippedEngines).toEqual([
      { engine: 'collaborative', reason: 'training the first model' },
    ]);
    const hybrid = await orchestrator.recommend({ userId: 1, strategy: 'HYBRID', first: 5 });
    expect(hybrid.strategyUsed).toBe('STATISTICAL');
    expect(hybrid.skippedEngines.map((s) => s.engine)).toEqual(['collaborative', 'content']);
    // CONTENT keeps failing loudly: only a training collaborative model falls back.
    await expect(orchestrator.recommend({ userId: 1, strategy: 'CONTENT', first: 5 })).rejects.toThrow(
      EngineNotReadyError,
    );
  });

  it('applies the genre filter before cutting to first', async () => {
    const orchestrator = new Orchestrator(
      [
        new TableEngine(
          'collaborative',
          table([
            [4, 5],
            [5, 4.5],
            [6, 4],
            [7, 3.5],
            [3, 3],
          ]),
        ),
      ],
      catalogWith(fiveRatings),
    );
    const list = await orchestrator.recommend({
      userId: 1,
      strategy: 'COLLABORATIVE',
      first: 2,
      genres: ['Comedy'],
    });
    expect(list.items.map((i) => i.movieId)).toEqual([6, 3]);
  });
  it('leaves out candidates the catalog no longer has, reading the catalog only for the ones it may list', async () => {
    const asked: number[][] = [];
    const catalog: OrchestratorCatalog = {
      ratingsOf: async () => ({ version: 1, ratings: fiveRatings }),
      moviesByIds: async (ids) => {
        asked.push([...ids]);
        return MOVIES.filter((m) => ids.includes(m.id));
      },
    };
    const collaborative = new TableEngine(
      'collaborative',
      table([
        [4, 5],
        [98, 4.8],
        [5, 4.5],
        [99, 4.2],
        [6, 4],
        [7, 3.5],
        [3, 3],
      ]),
    );
    const orchestrator = new Orchestrator([collaborative], catalog);
    const list = await orchestrator.recommend({ userId: 1, strategy: 'COLLABORATIVE', first: 3 });
    // 98 and 99 were deleted from the catalog after the engine loaded them.
    expect(list.items.map((i) => i.movieId)).toEqual([4, 5, 6]);
    // One catalog read per shortfall: [99] for the one place left, then [6] for the place 99 left.
    expect(asked.slice(0, 3)).toEqual([[4, 98, 5], [99], [6]]);
    // With diversity the whole pool's genres are read, and the deleted movies are still left out.
    asked.length = 0;
    const diverse = await orchestrator.recommend({
      userId: 1,
      strategy: 'COLLABORATIVE',
      first: 3,
      diversity: 0.5,
    });
    expect(diverse.items.map((i) => i.movieId)).not.toContain(98);
    expect(diverse.items.map((i) => i.movieId)).not.toContain(99);
    expect(diverse.items).toHaveLength(3);
    expect(asked[0]).toEqual([4, 98, 5, 99, 6, 7, 3]);
  });

  it('reuses a finished list only for the same ratings Map, the same request and the same ready engines, for a while', async () => {
    let clock = 0;
    let ratings = { version: 1, ratings: new Map(fiveRatings) };
    let contentStatus: EngineStatus = { ready: true };
    const collaborative = new TableEngine(
      'collaborative',
      table([
        [4, 4.8],
        [5, 4.0],
        [6, 3.0],
      ]),
    );
    const content = new TableEngine(
      'content',
      table([
        [4, 0.9],
        [7, 0.8],
      ]),
    );
    Object.defineProperty(content, 'status', { value: () => contentStatus });
    const orchestrator = new Orchestrator(
      [collaborative, content],
      {
        ratingsOf: async () => ratings,
        moviesByIds: async (ids) => MOVIES.filter((m) => ids.includes(m.id)),
      },
      { coldStartThreshold: 5, listTtlMs: 1000, now: () => clock },
    );
    const ask = (first = 3) => orchestrator.recommend({ userId: 1, strategy: 'HYBRID', first });
    const first = await ask();
    expect(collaborative.requests).toHaveLength(1);
    clock = 999;
    // The same list, id included (kept packed: equal, not the same object).
    expect(await ask()).toEqual(first);
    expect(collaborative.requests).toHaveLength(1);

    // Another request shape is another list.
    expect((await ask(2)).items).toHaveLength(2);
    expect(collaborative.requests).toHaveLength(2);

    // New ratings (a new version) are never answered from the old list.
    ratings = { version: 2, ratings: new Map([...fiveRatings, [4, 5]]) };
    const afterRating = await ask();
    expect(afterRating.listId).not.toBe(first.listId);
    expect(afterRating.items.map((i) => i.movieId)).not.toContain(4);

    // An engine that stops (or starts) being ready changes the list at once.
    contentStatus = { ready: false, reason: 'index building: 40%' };
    const withoutContent = await ask();
    expect(withoutContent.skippedEngines).toContainEqual({
      engine: 'content',
      reason: 'index building: 40%',
    });

    // Past twice the TTL every list is rebuilt, even for unchanged ratings.
    const before = collaborative.requests.length;
    clock += 2000;
    expect((await ask()).listId).not.toBe(withoutContent.listId);
    expect(collaborative.requests).toHaveLength(before + 1);
  });

  it('merges HYBRID with the weights in force when the request sends none', async () => {
    const engines = () => [
      new TableEngine(
        'collaborative',
        table([
          [3, 5],
          [4, 1],
        ]),
      ),
      new TableEngine(
        'statistical',
        table([
          [3, 1],
          [4, 5],
        ]),
      ),
    ];
    let inForce: WeightsInForce = weightsInForce('default', null, 1);
    const orchestrator = new Orchestrator(engines(), catalogWith(fiveRatings), {
      coldStartThreshold: 5,
      listTtlMs: 60_000,
      weightsInForce: () => inForce,
    });
    const ask = async () =>
      (await orchestrator.recommend({ userId: 1, strategy: 'HYBRID', first: 2 })).items.map((i) => i.movieId);
    // Defaults, over collaborative and statistical only: 0.5/0.7 against 0.2/0.7.
    expect(await ask()).toEqual([3, 4]);
    inForce = weightsInForce(
      'calibrated',
      {
        modelVersion: 2,
        weights: { collaborative: 0.1, content: 0.3, statistical: 0.6 },
        validationNdcg10: 0.3,
        defaultValidationNdcg10: 0.2,
        validationScheme: 'random',
      },
      2,
    );
    // New weights in force: the remembered list is not reused.
    expect(await ask()).toEqual([4, 3]);
    expect(orchestrator.weightsInForce().source).toBe('CALIBRATED');
  });

  /** Movies 4..7, best first. */
  const fourMovieCollaborative = () =>
    new TableEngine(
      'collaborative',
      table([
        [4, 4.8],
        [5, 4.0],
        [6, 3.0],
        [7, 2.0],
      ]),
    );

  it('names every list it builds, records it once, and leaves excluded movies out, an exclusion (a new ratings version) rebuilding the list', async () => {
    let excluded: ReadonlySet<number> = new Set();
    let version = 1;
    const recorded: ServedList[] = [];
    const collaborative = fourMovieCollaborative();
    const orchestrator = new Orchestrator(
      [collaborative],
      {
        ratingsOf: async () => ({ version, ratings: fiveRatings }),
        moviesByIds: async (ids) => MOVIES.filter((m) => ids.includes(m.id)),
        excludedOf: async (_userId, asOf) => (asOf === version ? excluded : new Set()),
      },
      { coldStartThreshold: 5, listTtlMs: 60_000, servedLists: { record: (list) => recorded.push(list) } },
    );
    const ask = () => orchestrator.recommend({ userId: 9, strategy: 'COLLABORATIVE', first: 3 });
    const first = await ask();
    expect(first.listId).toMatch(/^[0-9a-f-]{36}$/);
    expect([first.experiment, first.variant]).toEqual([null, null]);
    expect(await ask()).toEqual(first);
    expect(recorded).toEqual([
      {
        listId: first.listId,
        userId: 9,
        strategyRequested: 'COLLABORATIVE',
        strategyUsed: 'COLLABORATIVE',
        experiment: null,
        variant: null,
        movieIds: [4, 5, 6],
        servedAt: expect.any(Date),
      },
    ]);

    excluded = new Set([4]);
    version = 2;
    const after = await ask();
    expect(after.listId).not.toBe(first.listId);
    expect(after.items.map((i) => i.movieId)).toEqual([5, 6, 7]);
    expect(collaborative.requests.at(-1)?.exclude).toEqual(new Set([4]));
    expect(recorded.map((l) => l.listId)).toEqual([first.listId, after.listId]);

    // An experiment's list is another list, carrying its experiment and variant.
    const assigned = await orchestrator.recommend({
      userId: 9,
      strategy: 'COLLABORATIVE',
      first: 3,
      attribution: { experiment: 'e1', variant: 'treatment' },
    });
    expect(assigned.listId).not.toBe(after.listId);
    expect(recorded.at(-1)).toMatchObject({ experiment: 'e1', variant: 'treatment', movieIds: [5, 6, 7] });
  });

  it('takes the exclusions read with the ratings, without asking for them again', async () => {
    const collaborative = fourMovieCollaborative();
    let asked = 0;
    const orchestrator = new Orchestrator(
      [collaborative],
      {
        ratingsOf: async () => ({ version: 3, ratings: fiveRatings, excluded: new Set([5]) }),
        moviesByIds: async (ids) => MOVIES.filter((m) => ids.includes(m.id)),
        excludedOf: async () => {
          asked++;
          return new Set([4]);
        },
      },
      { coldStartThreshold: 5, listTtlMs: 60_000 },
    );
    const list = await orchestrator.recommend({ userId: 9, strategy: 'COLLABORATIVE', first: 3 });
    expect(list.items.map((i) => i.movieId)).toEqual([4, 6, 7]);
    expect(asked).toBe(0);
  });
});
