import { topK, TopNScorer } from '../../src/engines/collaborative/kernels';
import { DEFAULT_IMPLICIT_RULE } from '../../src/engines/implicit-rating';
import { exclusionsOf, RatedMovies, SqlRatingHistory } from '../../src/engines/rating-history';
import { graphql } from '../helpers/api';
import { recordStatements } from '../helpers/database';
import { FullStack, startFullStack } from '../helpers/full-stack';

const RECOMMEND = `query ($userId: Int!, $strategy: Strategy, $first: Int) {
  recommendations(userId: $userId, strategy: $strategy, first: $first) {
    rank listId experiment variant strategyUsed movie { id }
  }
}`;
const ONBOARD = `mutation ($ratings: [RatingInput!]!) { onboard(ratings: $ratings) { token user { id } } }`;
const RECORD = `mutation ($events: [EventInput!]!) { recordEvents(events: $events) { accepted duplicates } }`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Item {
  rank: number;
  listId: string;
  experiment: string | null;
  variant: string | null;
  strategyUsed: string;
  movie: { id: number };
}

describe('implicit feedback: listId on every list, recordEvents, NOT_INTERESTED', () => {
  let stack: FullStack;
  let url: string;

  beforeAll(async () => {
    stack = await startFullStack();
    url = stack.api.url;
  });

  afterAll(async () => {
    await stack.stop();
  });

  const db = () => stack.db.dataSource;
  const eventCount = async () =>
    (await db().query(`SELECT count(*)::int AS n FROM feedback_events`))[0].n as number;

  async function recommend(
    userId: number,
    variables: { strategy?: string; first?: number } = {},
    headers: Record<string, string> = {},
  ): Promise<Item[]> {
    const result = await graphql<{ recommendations: Item[] }>(
      url,
      RECOMMEND,
      { userId, first: 10, ...variables },
      headers,
    );
    expect(result.errors).toBeUndefined();
    return result.data!.recommendations;
  }

  /** A new user with `count` ratings of the catalog's movies (from `offset`) and their bearer header. */
  async function onboard(count = 8, offset = 0): Promise<{ userId: number; auth: Record<string, string> }> {
    const ratings = stack.catalog.movies
      .slice(offset, offset + count)
      .map((m, i) => ({ movieId: m.movieId, rating: i % 2 ? 4.5 : 2 }));
    const result = await graphql<any>(url, ONBOARD, { ratings });
    expect(result.errors).toBeUndefined();
    return {
      userId: result.data.onboard.user.id,
      auth: { authorization: `Bearer ${result.data.onboard.token}` },
    };
  }

  const record = (events: unknown[], auth: Record<string, string>) =>
    graphql<{ recordEvents: { accepted: number; duplicates: number } }>(url, RECORD, { events }, auth);

  it('gives every item of a list one listId, kept when the cached list is served again, and records the list once', async () => {
    const first = await recommend(4);
    expect(first).toHaveLength(10);
    const listId = first[0].listId;
    expect(listId).toMatch(UUID);
    expect(first.map((i) => i.listId)).toEqual(Array(10).fill(listId));
    expect(first.map((i) => i.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first.every((i) => i.experiment === null && i.variant === null)).toBe(true);

    const again = await recommend(4);
    expect(again.map((i) => i.listId)).toEqual(first.map((i) => i.listId));
    expect(again.map((i) => i.movie.id)).toEqual(first.map((i) => i.movie.id));
    const otherShape = await recommend(4, { first: 5 });
    expect(otherShape[0].listId).not.toBe(listId);

    await stack.api.services.servedLists.flush();
    const rows = await db().query(
      `SELECT user_id, strategy_requested, strategy_used, experiment, variant, movie_ids, served_at
         FROM recommendation_lists WHERE list_id = $1`,
      [listId],
    );
    expect(rows).toEqual([
      {
        user_id: 4,
        strategy_requested: 'HYBRID',
        strategy_used: first[0].strategyUsed,
        experiment: null,
        variant: null,
        movie_ids: first.map((i) => i.movie.id),
        served_at: expect.any(Date),
      },
    ]);
    const [{ n }] = await db().query(
      `SELECT count(*)::int AS n FROM recommendation_lists WHERE list_id = ANY($1::uuid[])`,
      [[listId, otherShape[0].listId]],
    );
    expect(n).toBe(2);
  });

  it('records a batch, counts a resent event once, and accepts a listId not written yet', async () => {
    const { userId, auth } = await onboard();
    const list = await recommend(userId, {}, auth);
    const [a, b] = list.map((i) => i.movie.id);
    const listId = list[0].listId;
    expect(stack.api.services.servedLists.pending).toBeGreaterThan(0);
    const events = [
      { clientEventId: 'e1', listId, movieId: a, type: 'IMPRESSION' },
      {
        clientEventId: 'e2',
        listId,
        movieId: a,
        type: 'CLICK',
        at: new Date(Date.now() - 60_000).toISOString(),
      },
      { clientEventId: 'e3', listId, movieId: a, type: 'WATCH', value: 0.9 },
    ];
    const before = { ...stack.api.services.feedback.recordedByType };
    expect((await record(events, auth)).data?.recordEvents).toEqual({ accepted: 3, duplicates: 0 });
    expect((await record(events, auth)).data?.recordEvents).toEqual({ accepted: 0, duplicates: 3 });
    const mixed = [...events, { clientEventId: 'e4', movieId: b, type: 'WATCH' }];
    expect((await record(mixed, auth)).data?.recordEvents).toEqual({ accepted: 1, duplicates: 3 });

    const rows = await db().query(
      `SELECT client_event_id, list_id, movie_id, type, value, occurred_at, received_at
         FROM feedback_events WHERE user_id = $1 ORDER BY client_event_id`,
      [userId],
    );
    expect(rows.map((r: any) => [r.client_event_id, r.list_id, r.movie_id, r.type, r.value])).toEqual([
      ['e1', listId, a, 'IMPRESSION', null],
      ['e2', listId, a, 'CLICK', null],
      ['e3', listId, a, 'WATCH', expect.closeTo(0.9, 5)],
      ['e4', null, b, 'WATCH', null],
    ]);
    expect(rows[1].occurred_at.getTime()).toBeLessThan(rows[1].received_at.getTime() - 50_000);
    const moved = stack.api.services.feedback.recordedByType;
    expect({
      IMPRESSION: moved.IMPRESSION - before.IMPRESSION,
      CLICK: moved.CLICK - before.CLICK,
      WATCH: moved.WATCH - before.WATCH,
    }).toEqual({ IMPRESSION: 1, CLICK: 1, WATCH: 2 });

    const metrics = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toMatch(/cinegraph_feedback_events_total\{type="WATCH"\} [1-9]/);
    expect(metrics).toMatch(/cinegraph_recommendation_lists_recorded_total [1-9]/);
    expect(metrics).toMatch(/cinegraph_recommendation_lists_dropped_total 0/);
  });

  it('refuses a batch with any invalid event with a coded error naming it, and writes none of it', async () => {
    const { auth } = await onboard();
    const movie = stack.catalog.movies[20].movieId;
    const valid = { clientEventId: 'ok-1', movieId: movie, type: 'CLICK' };
    const cases: [string, unknown[], string, RegExp][] = [
      [
        'unknown movie',
        [valid, { clientEventId: 'x', movieId: 999_999, type: 'CLICK' }],
        'NOT_FOUND',
        /unknown movie id 999999/,
      ],
      [
        'future time',
        [
          valid,
          {
            clientEventId: 'x',
            movieId: movie,
            type: 'CLICK',
            at: new Date(Date.now() + 10 * 60_000).toISOString(),
          },
        ],
        'BAD_USER_INPUT',
        /in the future/,
      ],
      [
        'value on a click',
        [valid, { clientEventId: 'x', movieId: movie, type: 'CLICK', value: 0.5 }],
        'BAD_USER_INPUT',
        /only for WATCH/,
      ],
      [
        'fraction above 1',
        [valid, { clientEventId: 'x', movieId: movie, type: 'WATCH', value: 1.5 }],
        'BAD_USER_INPUT',
        /between 0 and 1/,
      ],
      [
        'negative fraction',
        [valid, { clientEventId: 'x', movieId: movie, type: 'WATCH', value: -0.1 }],
        'BAD_USER_INPUT',
        /between 0 and 1/,
      ],
      ['same id twice', [valid, { ...valid, type: 'IMPRESSION' }], 'BAD_USER_INPUT', /appears twice/],
      [
        'malformed listId',
        [valid, { clientEventId: 'x', listId: 'list-7', movieId: movie, type: 'CLICK' }],
        'BAD_USER_INPUT',
        /UUID/,
      ],
      [
        'empty clientEventId',
        [valid, { clientEventId: '', movieId: movie, type: 'CLICK' }],
        'BAD_USER_INPUT',
        /clientEventId/,
      ],
      [
        'oversized clientEventId',
        [valid, { clientEventId: 'x'.repeat(129), movieId: movie, type: 'CLICK' }],
        'BAD_USER_INPUT',
        /clientEventId/,
      ],
      [
        'oversized batch',
        Array.from({ length: 501 }, (_, i) => ({
          clientEventId: `b${i}`,
          movieId: movie,
          type: 'IMPRESSION',
        })),
        'BAD_USER_INPUT',
        /at most 500 events/,
      ],
    ];
    const before = await eventCount();
    for (const [name, events, code, message] of cases) {
      const result = await record(events, auth);
      expect({ name, code: result.errors?.[0]?.extensions?.code, data: result.data }).toEqual({
        name,
        code,
        data: null,
      });
      expect(result.errors?.[0]?.message).toMatch(message);
      if (name !== 'oversized batch') expect(result.errors?.[0]?.extensions).toMatchObject({ eventIndex: 1 });
      expect(await eventCount()).toBe(before);
    }
    // An unknown type or a malformed time never reaches the service: GraphQL refuses the variables.
    for (const bad of [
      { ...valid, type: 'LIKE' },
      { ...valid, at: 'yesterday' },
    ]) {
      const result = await record([bad], auth);
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(await eventCount()).toBe(before);
    expect((await record([valid], auth)).data?.recordEvents).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('needs the bearer token, and records under the token’s own user only', async () => {
    const event = { clientEventId: 'auth-1', movieId: stack.catalog.movies[0].movieId, type: 'CLICK' };
    const before = await eventCount();
    const anonymous = await record([event], {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await record([event], { authorization: 'Bearer cg_not-a-real-token' });
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await eventCount()).toBe(before);

    const alice = await onboard();
    const bob = await onboard();
    expect((await record([event], alice.auth)).data?.recordEvents.accepted).toBe(1);
    // The same client id from another user is another event: ids are unique per user.
    expect((await record([event], bob.auth)).data?.recordEvents.accepted).toBe(1);
    const owners = await db().query(
      `SELECT user_id FROM feedback_events WHERE client_event_id = 'auth-1' ORDER BY user_id`,
    );
    expect(owners.map((r: { user_id: number }) => r.user_id)).toEqual(
      [alice.userId, bob.userId].sort((x, y) => x - y),
    );
  });

  it('NOT_INTERESTED leaves the movie out of the user’s very next list, in every strategy', async () => {
    const { userId, auth } = await onboard(10, 30);
    const strategies = ['HYBRID', 'COLLABORATIVE', 'CONTENT', 'STATISTICAL'];
    const before = new Map<string, Item[]>();
    for (const strategy of strategies) before.set(strategy, await recommend(userId, { strategy }, auth));
    // Served again within the cache's lifetime: the very same list.
    expect((await recommend(userId, { strategy: 'HYBRID' }, auth))[0].listId).toBe(
      before.get('HYBRID')![0].listId,
    );

    const dismissed = [...new Set(strategies.map((s) => before.get(s)![0].movie.id))];
    const events = dismissed.map((movieId, i) => ({
      clientEventId: `dismiss-${i}`,
      listId: before.get('HYBRID')![0].listId,
      movieId,
      type: 'NOT_INTERESTED',
    }));
    expect((await record(events, auth)).data?.recordEvents.accepted).toBe(dismissed.length);

    for (const strategy of strategies) {
      const after = await recommend(userId, { strategy }, auth);
      expect(after).toHaveLength(10);
      expect(after[0].listId).not.toBe(before.get(strategy)![0].listId);
      for (const movieId of dismissed) expect(after.map((i) => i.movie.id)).not.toContain(movieId);
    }
    // Only this user: another user's list may still show the movie.
    const other = await onboard(10, 30);
    const theirs = await recommend(other.userId, { strategy: 'STATISTICAL' }, other.auth);
    expect(theirs.map((i) => i.movie.id)).toContain(before.get('STATISTICAL')![0].movie.id);
  });

  it('reads the NOT_INTERESTED marks with the ratings and watches: a first list makes no statement of its own for them', async () => {
    const { userId, auth } = await onboard(10, 90);
    const [dismissed, seen, short] = stack.catalog.movies.slice(110, 113).map((m) => m.movieId);
    const events = [
      { clientEventId: 'n-1', movieId: dismissed, type: 'NOT_INTERESTED' },
      { clientEventId: 'n-2', movieId: dismissed, type: 'NOT_INTERESTED' },
      { clientEventId: 'w-seen', movieId: seen, type: 'WATCH', value: 0.9 },
      { clientEventId: 'w-short', movieId: short, type: 'WATCH', value: 0.3 },
    ];
    expect((await record(events, auth)).data?.recordEvents.accepted).toBe(4);

    const history = await new SqlRatingHistory(db()).historyOf(userId);
    expect(history.ratings.size).toBe(10);
    // The ratings as stored, by movieId (the order engines sum them in), with their times.
    const stored: { movie_id: number; rating: number; at: number }[] = await db().query(
      `SELECT movie_id, rating, extract(epoch FROM rated_at)::float8 AS at FROM ratings
        WHERE user_id = $1 ORDER BY movie_id`,
      [userId],
    );
    expect(history.ratings.toArray()).toEqual(
      stored.map((r) => ({ movieId: r.movie_id, rating: r.rating, ratedAt: r.at })),
    );
    expect(history.watched?.map((w) => w.movieId)).toEqual([seen]);
    expect(history.notInterested).toEqual([dismissed]);
    expect(new Set(exclusionsOf(history))).toEqual(new Set([dismissed, seen]));
    // A source that does not read the marks says so, and the orchestrator asks FeedbackService.
    expect(exclusionsOf({ version: 1, ratings: RatedMovies.none })).toBeNull();

    let list: Item[] = [];
    const statements = await recordStatements(db(), async () => {
      list = await recommend(userId, { strategy: 'COLLABORATIVE', first: 100 }, auth);
    });
    expect(statements.filter((sql) => /SELECT DISTINCT movie_id FROM feedback_events/.test(sql))).toEqual([]);
    const ids = list.map((item) => item.movie.id);
    expect(ids).toHaveLength(100);
    expect(ids).not.toContain(dismissed);
    expect(ids).not.toContain(seen);
  });

  it('a WATCH of at least 0.8 leaves the movie out of the next list; a shorter one does not', async () => {
    const { userId, auth } = await onboard(10, 60);
    const before = await recommend(userId, { strategy: 'STATISTICAL' }, auth);
    const [short, seen] = [before[0].movie.id, before[1].movie.id];
    const events = [
      { clientEventId: 'w-short', movieId: short, type: 'WATCH', value: 0.5 },
      { clientEventId: 'w-seen', movieId: seen, type: 'WATCH', value: 0.8 },
    ];
    expect((await record(events, auth)).data?.recordEvents.accepted).toBe(2);
    const after = (await recommend(userId, { strategy: 'STATISTICAL' }, auth)).map((i) => i.movie.id);
    expect(after).toContain(short);
    expect(after).not.toContain(seen);
  });
});

describe('a WATCH to the end shapes the user’s COLLABORATIVE list at once, through recordEvents', () => {
  let stack: FullStack;

  beforeAll(async () => {
    stack = await startFullStack();
  });

  afterAll(async () => {
    await stack.stop();
  });

  /** The top `count` by the served top-N model from the user's stars plus each watched movie at mean + 1.5. */
  async function expectedTop(userId: number, watched: readonly number[], count = 10): Promise<number[]> {
    const active = (await stack.collaborative.store.loadActive())!;
    const scorer = new TopNScorer(active.topN);
    const ids = active.topN.itemIds;
    const indexOf = new Map(Array.from(ids, (id, i) => [id, i]));
    const stars: { movie_id: number; rating: number }[] = await stack.db.dataSource.query(
      `SELECT movie_id, rating FROM ratings WHERE user_id = $1`,
      [userId],
    );
    const mean = stars.reduce((sum, r) => sum + r.rating, 0) / stars.length;
    const row = [
      ...stars.map((r) => ({ item: indexOf.get(r.movie_id)!, rating: r.rating })),
      ...watched.map((id) => ({
        item: indexOf.get(id)!,
        rating: Math.min(5, mean + DEFAULT_IMPLICIT_RULE.offset),
      })),
    ];
    const scores = Float64Array.from(
      scorer.scoreUser(
        row.map((r) => r.item),
        row.map((r) => r.rating),
      ).scores,
    );
    const rankable = scorer.rankable();
    for (let i = 0; i < scores.length; i++) if (!rankable[i]) scores[i] = -Infinity;
    for (const r of row) scores[r.item] = -Infinity;
    return Array.from(topK(scores, count), (i) => ids[i]);
  }

  it('ranks from the stars plus the watched movie (user mean + 1.5), which itself is left out', async () => {
    const url = stack.api.url;
    const ratings = stack.catalog.movies
      .slice(20, 32)
      .map((m, i) => ({ movieId: m.movieId, rating: i % 3 ? 4 : 2.5 }));
    const onboarded = await graphql<any>(url, ONBOARD, { ratings });
    expect(onboarded.errors).toBeUndefined();
    const userId: number = onboarded.data.onboard.user.id;
    const auth = { authorization: `Bearer ${onboarded.data.onboard.token}` };
    const collaborative = async () => {
      const result = await graphql<{ recommendations: Item[] }>(
        url,
        RECOMMEND,
        { userId, strategy: 'COLLABORATIVE', first: 10 },
        auth,
      );
      expect(result.errors).toBeUndefined();
      return result.data!.recommendations.map((i) => i.movie.id);
    };

    const before = await collaborative();
    expect(before).toEqual(await expectedTop(userId, []));
    const watched = before[2];
    const record = (events: unknown[]) => graphql<any>(url, RECORD, { events }, auth);
    expect(
      (await record([{ clientEventId: 'half', movieId: before[0], type: 'WATCH', value: 0.5 }])).errors,
    ).toBeUndefined();
    expect(await collaborative()).toEqual(before);

    expect(
      (await record([{ clientEventId: 'seen', movieId: watched, type: 'WATCH', value: 0.9 }])).errors,
    ).toBeUndefined();
    const after = await collaborative();
    expect(after).not.toContain(watched);
    expect(after).toEqual(await expectedTop(userId, [watched]));
    // More than the movie gone: stars alone, without it, would rank otherwise.
    const starsOnly = (await expectedTop(userId, [], 11)).filter((id) => id !== watched);
    expect(starsOnly).toHaveLength(10);
    expect(after).not.toEqual(starsOnly);
  });
});
