import { DataSource } from 'typeorm';
import { primaryReads, Reads } from '../../db/read-routing';
import type { MovieTextInput, TagFrequency } from './movie-text';
import { NEGLIGIBLE, type TasteProfileMethod } from './taste-profile';
import { fromVectorSend, toFloat32VectorLiteral, toVectorLiteral } from './vector-codec';
import { inlineParameters } from '../../db/inline-sql';
import { withLongStatements } from '../../db/guarded-pool';
import {
  createHnswIndexStatement,
  hnswIndexName,
  INDEXED_EMBEDDING_DIMENSIONS,
} from '../../../migrations/1764000300000-ContentEmbeddings';

/** The model whose vectors a query may see; vectors of different models are never compared. */
export interface EmbeddingModel {
  modelId: string;
  dimension: number;
}

export interface EmbeddingRow {
  movieId: number;
  textHash: string;
  vector: Float32Array;
}

/** A movie's text inputs, with what is stored for it now (null when it has no embedding yet). */
export interface MovieTextSource {
  movieId: number;
  input: MovieTextInput;
  storedModelId: string | null;
  storedTextHash: string | null;
}

export interface NeighbourQuery {
  model: EmbeddingModel;
  /** The query point: a pgvector literal ('[…]') or a vector. */
  vector: string | Float32Array;
  limit: number;
  /** Only movies having any of these genres; empty means all. */
  genres?: readonly string[];
  excludeIds?: readonly number[];
}

export interface Neighbour {
  movieId: number;
  /** Cosine distance, 1 − cosine similarity. */
  distance: number;
}

export interface SearchTuning {
  /** HNSW candidate list size; raised to the limit when that is larger (pgvector caps it at 1000). */
  efSearch: number;
  /**
   * When a genre filter leaves at most this many movies, compare them all exactly instead of walking the
   * HNSW graph past the filtered-out majority. Default DEFAULT_EXACT_FILTER_LIMIT.
   */
  exactFilterLimit?: number;
}

/**
 * On ml-latest-small (use-lite, 512-d) an exact comparison costs ~3 µs per matching movie, while a filtered
 * HNSW walk for a 1%-genre such as Film-Noir visits ~1,800 candidates (~35 ms): below about a thousand
 * matches, exact is both faster and perfectly accurate.
 */
export const DEFAULT_EXACT_FILTER_LIMIT = 1000;

export interface NeighbourResult {
  neighbours: Neighbour[];
  /** True when the approximate scan came up short and the answer comes from an exact scan instead. */
  exhaustive: boolean;
}

export interface UserRating {
  movieId: number;
  rating: number;
  /** Null for movies not embedded (yet), and beyond the rows whose vectors were asked for. */
  vector: Float32Array | null;
}

export interface UserRatingsWithEmbeddings {
  /** Mean of all the user's ratings, embedded or not; null without ratings. */
  userMean: number | null;
  /** Best rated first, most recent first among equals. */
  ratings: UserRating[];
}

export interface SqlTasteProfile {
  /** Mean of all the user's ratings; null without ratings. */
  userMean: number | null;
  /** Rated movies with an embedding for the model. */
  ratedCount: number;
  profile: { vector: Float32Array; method: TasteProfileMethod } | null;
}

const MAX_EF_SEARCH = 1000;

/**
 * Memory for building an HNSW index in one go: the 64 MB default held 23,718 of 62,423 512-d vectors
 * (~2.7 kB each, pgvector's notice) before the build slowed to writing the graph out as it goes. 512 MB
 * holds ~190K, three ML-32M catalogs, and is only taken while the index builds.
 */
const HNSW_BUILD_MEMORY = '512MB';

function assertDimension(dimension: number): void {
  // The dimension is spliced into SQL (the partial HNSW indexes need a literal), so it must be a plain integer.
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16000)
    throw new RangeError(`invalid embedding dimension ${dimension}`);
}

/** Builds positional parameters as the SQL text is assembled. */
function parameterList(initial: unknown[]) {
  const params = [...initial];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  return { params, param };
}

/**
 * The nearest-neighbour SELECT over `movie_embeddings e`, ordered by cosine distance to `point` (an SQL
 * expression). The cast `embedding::vector(D)` and the literal `dimension = D` repeat the expression and
 * predicate of the per-dimension HNSW index exactly; with anything else the planner cannot use the index and
 * falls back to sorting every row.
 */
function neighbourSelect(options: {
  dimension: number;
  point: string;
  modelParam: string;
  conditions: string[];
  genresParam: string | null;
  limitParam: string;
  /** False: movie ids only, in the index's order (see nearestIds). */
  distances?: boolean;
}): string {
  const { dimension } = options;
  assertDimension(dimension);
  const distance = `e.embedding::vector(${dimension}) <=> ${options.point}`;
  const conditions = [
    `e.dimension = ${dimension}`,
    `e.model_id = ${options.modelParam}`,
    ...options.conditions,
  ];
  if (options.genresParam)
    conditions.push(
      `EXISTS (SELECT 1 FROM movies m WHERE m.id = e.movie_id AND m.genres && ${options.genresParam}::text[])`,
    );
  // ORDER BY the output column, not the expression again: the same sort key to the planner (the
  // HNSW index scan), but the point, inlined as a 512-d literal by queryWithSettings, is written,
  // escaped, sent and parsed once (the statement went from 22 to 6 kB).
  const where = ` FROM movie_embeddings e WHERE ${conditions.join(' AND ')}`;
  if (options.distances === false)
    return `SELECT e.movie_id AS "movieId"${where} ORDER BY ${distance} LIMIT ${options.limitParam}`;
  return `SELECT e.movie_id AS "movieId", ${distance} AS distance${where} ORDER BY distance LIMIT ${options.limitParam}`;
}

/**
 * The nearest-neighbour statement for one query point; with `distances: false` it returns movie ids
 * only (the distance is then computed by the index scan alone, not again from each row's TOASTed
 * vector).
 */
export function neighbourQuerySql(
  query: NeighbourQuery,
  options: { distances?: boolean } = {},
): { sql: string; params: unknown[] } {
  const dimension = query.model.dimension;
  const vector = typeof query.vector === 'string' ? query.vector : toFloat32VectorLiteral(query.vector);
  const { params, param } = parameterList([vector, query.model.modelId]);
  const conditions =
    query.excludeIds && query.excludeIds.length > 0
      ? [`e.movie_id <> ALL(${param(query.excludeIds)}::int[])`]
      : [];
  const sql = neighbourSelect({
    dimension,
    point: `$1::vector(${dimension})`,
    modelParam: '$2',
    conditions,
    genresParam: query.genres && query.genres.length > 0 ? param(query.genres) : null,
    limitParam: param(query.limit),
    distances: options.distances,
  });
  return { sql, params };
}

export interface MoviesNeighbourQuery {
  model: EmbeddingModel;
  /** The movies to find neighbours of; each is excluded from its own neighbours. */
  movieIds: readonly number[];
  limit: number;
  genres?: readonly string[];
}

/**
 * Nearest neighbours of several movies in one statement: a lateral join runs the one-point search (through
 * HNSW, rescanned per movie) for each embedded movie of the list.
 */
export function moviesNeighbourQuerySql(query: MoviesNeighbourQuery): { sql: string; params: unknown[] } {
  const dimension = query.model.dimension;
  const { params, param } = parameterList([query.movieIds, query.model.modelId]);
  const inner = neighbourSelect({
    dimension,
    point: `s.embedding::vector(${dimension})`,
    modelParam: '$2',
    conditions: ['e.movie_id <> s.movie_id'],
    genresParam: query.genres && query.genres.length > 0 ? param(query.genres) : null,
    limitParam: param(query.limit),
  });
  const sql =
    `SELECT s.movie_id AS "sourceId", n."movieId", n.distance FROM movie_embeddings s` +
    ` CROSS JOIN LATERAL (${inner}) n` +
    ` WHERE s.movie_id = ANY($1::int[]) AND s.model_id = $2 AND s.dimension = ${dimension}`;
  return { sql, params };
}

interface NeighbourRow {
  movieId: number;
  distance: number;
}

function toNeighbours(rows: NeighbourRow[]): Neighbour[] {
  const neighbours = rows.map((row) => ({
    movieId: row.movieId,
    distance: Number(row.distance),
  }));
  // Iterative scans in relaxed order may emit neighbours slightly out of order.
  return neighbours.sort((a, b) => a.distance - b.distance || a.movieId - b.movieId);
}

/**
 * All SQL of the content engine: the embeddings table, nearest-neighbour search and the inputs of both.
 * Searches, vectors and counts are shared reads and a user's ratings their own (`reads`, a replica's
 * when there is one); what the indexer reads to decide what to write, and writes, use the primary.
 */
export class EmbeddingStore {
  private iterativeScan: Promise<boolean> | undefined;
  private readonly reads: Reads;

  constructor(
    private readonly dataSource: DataSource,
    reads: Reads = primaryReads(dataSource),
  ) {
    this.reads = reads;
  }

  /**
   * Movies with their text inputs, by id order. Tag counts are distinct users, so one user re-tagging a
   * movie does not promote the tag.
   */
  async movieTextSources(selection: { afterId: number; limit: number } | { ids: readonly number[] }) {
    const where = 'ids' in selection ? 'm.id = ANY($1::int[])' : 'm.id > $1';
    const params = 'ids' in selection ? [selection.ids] : [selection.afterId, selection.limit];
    const rows: {
      id: number;
      title: string;
      year: number | null;
      genres: string[];
      overview: string | null;
      tags: TagFrequency[];
      model_id: string | null;
      text_hash: string | null;
    }[] = await this.dataSource.query(
      `SELECT m.id, m.title, m.year, m.genres, m.overview, e.model_id, e.text_hash,
              COALESCE((SELECT json_agg(json_build_object('tag', t.tag, 'count', t.users))
                          FROM (SELECT tag, count(DISTINCT user_id)::int AS users FROM tags
                                 WHERE movie_id = m.id GROUP BY tag) t), '[]'::json) AS tags
         FROM movies m LEFT JOIN movie_embeddings e ON e.movie_id = m.id
        WHERE ${where} ORDER BY m.id${'ids' in selection ? '' : ' LIMIT $2'}`,
      params,
    );
    return rows.map((row): MovieTextSource => ({
      movieId: row.id,
      input: { title: row.title, year: row.year, genres: row.genres, tags: row.tags, overview: row.overview },
      storedModelId: row.model_id,
      storedTextHash: row.text_hash,
    }));
  }

  async countMovies(): Promise<number> {
    const [row] = await this.dataSource.query(`SELECT count(*)::int AS count FROM movies`);
    return row.count;
  }

  /**
   * One multi-row upsert. Movies deleted since their text was read are skipped rather than failing the
   * batch on the foreign key. Returns how many rows were written.
   */
  async upsert(model: EmbeddingModel, rows: readonly EmbeddingRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    assertDimension(model.dimension);
    const params: unknown[] = [model.modelId, model.dimension];
    const values = rows.map((row) => {
      if (row.vector.length !== model.dimension)
        throw new Error(
          `movie ${row.movieId}: ${row.vector.length}-d vector for a ${model.dimension}-d model`,
        );
      params.push(row.movieId, row.textHash, toVectorLiteral(row.vector));
      const n = params.length;
      return `($${n - 2}::int, $${n - 1}::text, $${n}::vector)`;
    });
    const result: unknown = await this.dataSource.query(
      `INSERT INTO movie_embeddings (movie_id, model_id, dimension, text_hash, embedding)
       SELECT v.movie_id, $1, $2, v.text_hash, v.embedding
         FROM (VALUES ${values.join(', ')}) AS v (movie_id, text_hash, embedding)
        WHERE EXISTS (SELECT 1 FROM movies WHERE id = v.movie_id)
       ON CONFLICT (movie_id) DO UPDATE
         SET model_id = EXCLUDED.model_id, dimension = EXCLUDED.dimension, text_hash = EXCLUDED.text_hash,
             embedding = EXCLUDED.embedding, embedded_at = now()
       RETURNING movie_id`,
      params,
    );
    return Array.isArray(result) ? result.length : 0;
  }

  /** The movie's embedding for the model as a pgvector literal; `movieExists` tells unknown from unembedded. */
  async embeddingOf(
    movieId: number,
    modelId: string,
  ): Promise<{ movieExists: boolean; vector: string | null }> {
    const rows: { vector: string | null }[] = await this.reads.shared((db) =>
      db.query(
        `SELECT e.embedding::text AS vector
           FROM movies m LEFT JOIN movie_embeddings e ON e.movie_id = m.id AND e.model_id = $2
          WHERE m.id = $1`,
        [movieId, modelId],
      ),
    );
    return { movieExists: rows.length > 0, vector: rows[0]?.vector ?? null };
  }

  async vectorsOf(movieIds: readonly number[], modelId: string): Promise<Map<number, Float32Array>> {
    if (movieIds.length === 0) return new Map();
    const rows: { movieId: number; vector: Buffer }[] = await this.reads.shared((db) =>
      db.query(
        `SELECT movie_id AS "movieId", vector_send(embedding) AS vector
           FROM movie_embeddings WHERE movie_id = ANY($1::int[]) AND model_id = $2`,
        [movieIds, modelId],
      ),
    );
    return new Map(rows.map((row) => [row.movieId, fromVectorSend(row.vector)]));
  }

  /** The genres of the given movies (those that exist). */
  async genresOf(movieIds: readonly number[]): Promise<Map<number, string[]>> {
    if (movieIds.length === 0) return new Map();
    const rows: { id: number; genres: string[] | null }[] = await this.reads.shared((db) =>
      db.query(`SELECT id, genres FROM movies WHERE id = ANY($1::int[])`, [movieIds]),
    );
    return new Map(rows.map((row) => [row.id, row.genres ?? []]));
  }

  /** Ratings per movie (the statistical aggregates kept by triggers), for the content popularity prior. */
  async ratingCounts(): Promise<Map<number, number>> {
    const rows: { movie_id: number; votes: number }[] = await this.reads.shared((db) =>
      db.query(`SELECT movie_id, votes FROM movie_rating_stats WHERE votes > 0`),
    );
    return new Map(rows.map((row) => [row.movie_id, row.votes]));
  }

  /** Every movie with a vector of the model, ascending. */
  async embeddedMovieIds(modelId: string): Promise<number[]> {
    const rows: { movie_id: number }[] = await this.reads.shared((db) =>
      db.query(`SELECT movie_id FROM movie_embeddings WHERE model_id = $1 ORDER BY movie_id`, [modelId]),
    );
    return rows.map((row) => row.movie_id);
  }

  async userExists(userId: number): Promise<boolean> {
    const rows: unknown[] = await this.reads.ofUser(userId, (db) =>
      db.query(`SELECT 1 FROM users WHERE id = $1`, [userId]),
    );
    return rows.length > 0;
  }

  /**
   * The user's ratings, best first. Embeddings are decoded only for the first `vectorsFor` rows (all when
   * omitted): shipping every vector of a user with thousands of ratings costs more than the whole query.
   */
  async userRatings(
    userId: number,
    modelId: string,
    vectorsFor?: number,
  ): Promise<UserRatingsWithEmbeddings> {
    const rows: { movieId: number; rating: number; userMean: number; vector: Buffer | null }[] =
      await this.reads.ofUser(userId, (db) =>
        db.query(
          `SELECT r.movie_id AS "movieId", r.rating, avg(r.rating) OVER ()::float8 AS "userMean",
                  CASE WHEN $3::int IS NULL
                         OR row_number() OVER (ORDER BY r.rating DESC, r.rated_at DESC, r.movie_id) <= $3::int
                       THEN vector_send(e.embedding) END AS vector
             FROM ratings r LEFT JOIN movie_embeddings e ON e.movie_id = r.movie_id AND e.model_id = $2
            WHERE r.user_id = $1
            ORDER BY r.rating DESC, r.rated_at DESC, r.movie_id`,
          [userId, modelId, vectorsFor ?? null],
        ),
      );
    return {
      userMean: rows.length > 0 ? Number(rows[0].userMean) : null,
      ratings: rows.map((row) => ({
        movieId: row.movieId,
        rating: Number(row.rating),
        vector: row.vector ? fromVectorSend(row.vector) : null,
      })),
    };
  }

  /**
   * The taste profile of computeTasteProfile, computed inside Postgres so that only the result crosses the
   * wire. Not on the serving path: the engine keeps every vector in memory and computes the profile there.
   * Kept as the cross-check of that reference and for scripts/bench-content.ts, which times both. pgvector
   * has no scalar product, so each embedding is multiplied element-wise by a vector filled with its weight.
   */
  async tasteProfileInSql(userId: number, model: EmbeddingModel): Promise<SqlTasteProfile> {
    assertDimension(model.dimension);
    const [row]: {
      user_mean: number | null;
      rated: number;
      centred: Buffer | null;
      liked: Buffer | null;
    }[] = await this.reads.ofUser(userId, (db) =>
      db.query(
        `WITH user_ratings AS (
         SELECT movie_id, rating - avg(rating) OVER () AS weight, avg(rating) OVER () AS mean
           FROM ratings WHERE user_id = $1
       ), sums AS (
         SELECT count(*)::int AS rated,
                sum(e.embedding * array_fill(u.weight::real, ARRAY[${model.dimension}])::vector)
                  FILTER (WHERE abs(u.weight) > ${NEGLIGIBLE}) AS centred,
                coalesce(sum(e.embedding) FILTER (WHERE u.weight >= -${NEGLIGIBLE}), sum(e.embedding)) AS liked
           FROM user_ratings u JOIN movie_embeddings e ON e.movie_id = u.movie_id AND e.model_id = $2
       )
       SELECT (SELECT max(mean) FROM user_ratings)::float8 AS user_mean, rated,
              CASE WHEN vector_norm(centred) > ${NEGLIGIBLE} THEN vector_send(l2_normalize(centred)) END AS centred,
              CASE WHEN vector_norm(liked) > ${NEGLIGIBLE} THEN vector_send(l2_normalize(liked)) END AS liked
         FROM sums`,
        [userId, model.modelId],
      ),
    );
    const userMean = row.user_mean === null ? null : Number(row.user_mean);
    const profile = row.centred
      ? { vector: fromVectorSend(row.centred), method: 'centred' as const }
      : row.liked
        ? { vector: fromVectorSend(row.liked), method: 'liked-mean' as const }
        : null;
    return { userMean, ratedCount: row.rated, profile };
  }

  /**
   * One simple-protocol message: the SET LOCALs and the statement (parameters written in as
   * literals) run in the message's implicit transaction, so the settings end with it, an error
   * rolls it all back, and the search costs one round trip instead of a transaction's five or more.
   * Only searches come here: a shared read.
   */
  private queryWithSettings<T>(settings: readonly string[], sql: string, params: unknown[]): Promise<T[]> {
    return this.reads.shared((db) => this.queryWithSettingsOn<T>(db, settings, sql, params));
  }

  private async queryWithSettingsOn<T>(
    db: DataSource,
    settings: readonly string[],
    sql: string,
    params: unknown[],
  ): Promise<T[]> {
    const text = [...settings, inlineParameters(sql, params)].join(';\n');
    db.logger.logQuery(text);
    const runner = db.createQueryRunner();
    try {
      const client = (await runner.connect()) as {
        query(text: string): Promise<{ rows: T[] } | { rows: T[] }[]>;
      };
      const results = await client.query(text);
      return Array.isArray(results) ? results[results.length - 1].rows : results.rows;
    } finally {
      await runner.release();
    }
  }

  /** Whether this pgvector (0.8+) can keep scanning HNSW until filtered-out rows are replaced. */
  supportsIterativeScan(): Promise<boolean> {
    // Asked where the searches run (the same pgvector on a primary and its replicas).
    this.iterativeScan ??= this.reads
      .shared((db) =>
        db.transaction(async (manager) => {
          // The GUC only exists once the pgvector library is loaded into this session.
          await manager.query(`SELECT vector_dims('[1]'::vector)`);
          const [row] = await manager.query(`SELECT current_setting('hnsw.iterative_scan', true) AS setting`);
          return row.setting !== null && row.setting !== undefined;
        }),
      )
      .catch((error: unknown) => {
        this.iterativeScan = undefined;
        throw error;
      });
    return this.iterativeScan;
  }

  /**
   * Approximate nearest neighbours through HNSW. Filters (genres, exclusions) remove rows after the index
   * produced them, so the scan is made iterative where pgvector supports it; if it still comes up short
   * (fewer eligible movies than asked, or the iterative scan hit its tuple budget) an exact scan answers.
   * A genre filter matching few movies is answered exactly straight away.
   */
  async nearest(query: NeighbourQuery, tuning: SearchTuning): Promise<NeighbourResult> {
    const rows = await this.approximateRows<NeighbourRow>(query, tuning, true);
    if (rows) return { neighbours: toNeighbours(rows), exhaustive: false };
    return { neighbours: await this.exactNearest(query), exhaustive: true };
  }

  /**
   * The movies `nearest` finds, without their distances and in no particular order: for callers
   * that score the movies themselves (a user's content candidates, re-ranked by the vote). It spares
   * PostgreSQL computing each found movie's distance again from its TOASTed vector: at 25M (62K
   * movies, 150 neighbours, ef_search 150) 4.6–6.6 ms against 5.8–6.3 ms on a warm connection.
   */
  async nearestIds(query: NeighbourQuery, tuning: SearchTuning): Promise<number[]> {
    const rows = await this.approximateRows<{ movieId: number }>(query, tuning, false);
    return (rows ?? (await this.exactNearest(query))).map((row) => row.movieId);
  }

  /**
   * The HNSW scan of `nearest`; null when it cannot answer: a genre filter selective enough for an
   * exact scan, or fewer rows than asked (filters, the iterative scan's tuple budget).
   */
  private async approximateRows<T>(
    query: NeighbourQuery,
    tuning: SearchTuning,
    distances: boolean,
  ): Promise<T[] | null> {
    if (await this.isSelective(query.genres, tuning)) return null;
    const iterative = await this.supportsIterativeScan();
    const efSearch = Math.min(MAX_EF_SEARCH, Math.max(Math.round(tuning.efSearch), query.limit));
    const { sql, params } = neighbourQuerySql(query, { distances });
    const rows = await this.queryWithSettings<T>(preferHnsw(efSearch, iterative), sql, params);
    return rows.length >= query.limit ? rows : null;
  }

  /**
   * `nearest` for several movies at once (e.g. a GraphQL page asking for each movie's similar movies):
   * one statement, one round trip. Movies that are unknown or not embedded for the model are absent from the
   * map; the others map to their neighbours, nearest first.
   */
  async nearestToMovies(
    query: MoviesNeighbourQuery,
    tuning: SearchTuning,
  ): Promise<Map<number, Neighbour[]>> {
    const found = new Map<number, Neighbour[]>();
    if (query.movieIds.length === 0) return found;
    const collect = (rows: (NeighbourRow & { sourceId: number })[]) => {
      const bySource = new Map<number, NeighbourRow[]>();
      for (const row of rows) bySource.set(row.sourceId, [...(bySource.get(row.sourceId) ?? []), row]);
      for (const [sourceId, sourceRows] of bySource) found.set(sourceId, toNeighbours(sourceRows));
    };
    const { sql, params } = moviesNeighbourQuerySql(query);
    const exact = (movieIds: readonly number[]) => {
      const statement = moviesNeighbourQuerySql({ ...query, movieIds });
      return this.queryWithSettings<NeighbourRow & { sourceId: number }>(
        EXACT_SCAN_SETTINGS,
        statement.sql,
        statement.params,
      );
    };
    if (await this.isSelective(query.genres, tuning)) {
      collect(await exact(query.movieIds));
      return found;
    }
    const iterative = await this.supportsIterativeScan();
    const efSearch = Math.min(MAX_EF_SEARCH, Math.max(Math.round(tuning.efSearch), query.limit));
    collect(
      await this.queryWithSettings<NeighbourRow & { sourceId: number }>(
        preferHnsw(efSearch, iterative),
        sql,
        params,
      ),
    );
    // As in `nearest`: a movie that came up short (filters, tiny catalog) is answered exactly. Movies absent
    // altogether may just not be embedded; the exact pass leaves those absent too.
    const short = query.movieIds.filter((movieId) => (found.get(movieId)?.length ?? 0) < query.limit);
    if (short.length > 0) {
      for (const movieId of short) found.delete(movieId);
      collect(await exact(short));
    }
    return found;
  }

  /** Whether a genre filter leaves so few movies that comparing them all beats walking the HNSW graph. */
  private async isSelective(genres: readonly string[] | undefined, tuning: SearchTuning): Promise<boolean> {
    if (!genres || genres.length === 0) return false;
    const [{ matching }]: { matching: number }[] = await this.reads.shared((db) =>
      db.query(`SELECT count(*)::int AS matching FROM movies WHERE genres && $1::text[]`, [genres]),
    );
    return matching <= (tuning.exactFilterLimit ?? DEFAULT_EXACT_FILTER_LIMIT);
  }

  /**
   * Exact nearest neighbours: the same statement with index scans disabled, so every eligible row is
   * compared. Also the reference that recall is measured against.
   */
  async exactNearest(query: NeighbourQuery): Promise<Neighbour[]> {
    const { sql, params } = neighbourQuerySql(query);
    return toNeighbours(await this.queryWithSettings<NeighbourRow>(EXACT_SCAN_SETTINGS, sql, params));
  }

  /** EXPLAIN of the exact search (`exactNearest`, and `nearest` for a selective genre filter). */
  async explainExactNearest(query: NeighbourQuery, analyze = false): Promise<string> {
    const { sql, params } = neighbourQuerySql(query);
    const rows = await this.queryWithSettings<{ 'QUERY PLAN': string }>(
      EXACT_SCAN_SETTINGS,
      `EXPLAIN ${analyze ? '(ANALYZE, COSTS OFF) ' : ''}${sql}`,
      params,
    );
    return rows.map((row) => row['QUERY PLAN'].replace(/'\[[^\]]*\]'/g, "'[…]'")).join('\n');
  }

  /**
   * Refreshes the planner statistics of the embeddings and the movies they are filtered by. Needed
   * after writing embeddings: see EXACT_SCAN_SETTINGS for what planning without them cost.
   */
  async analyze(): Promise<void> {
    await this.dataSource.query(`ANALYZE movie_embeddings, movies`);
  }

  /** Whether the dimension has an HNSW index (the migration creates one per INDEXED_EMBEDDING_DIMENSIONS). */
  hasHnswIndex(dimension: number): boolean {
    return (INDEXED_EMBEDDING_DIMENSIONS as readonly number[]).includes(dimension);
  }

  /** Whether the dimension's HNSW index is in place now (a bulk build drops it until the vectors are written). */
  async hnswIndexPresent(dimension: number): Promise<boolean> {
    assertDimension(dimension);
    // This schema's index only: by its bare name, the search path may find another schema's.
    const [row] = await this.dataSource.query(
      `SELECT to_regclass(format('%I.%I', current_schema(), $1::text)) IS NOT NULL AS present`,
      [hnswIndexName(dimension)],
    );
    return row?.present === true;
  }

  /**
   * Drops the dimension's HNSW index so a bulk write does not maintain it row by row: inserting 62K
   * 512-d vectors into the live graph cost far more than building it once afterwards (README,
   * Performance at scale). Searches stay correct without it, only slower (an exact scan).
   */
  async dropHnswIndex(dimension: number): Promise<void> {
    assertDimension(dimension);
    // Qualified: DROP INDEX by a bare name would drop another schema's index where this one has none.
    const [{ schema }]: { schema: string }[] = await this.dataSource.query(
      `SELECT current_schema() AS schema`,
    );
    await this.dataSource.query(
      `DROP INDEX IF EXISTS "${schema.replace(/"/g, '""')}".${hnswIndexName(dimension)}`,
    );
  }

  /**
   * Builds the dimension's HNSW index over the rows present with the migration's own statement (a test
   * compares the resulting definitions too). The build keeps its graph in maintenance_work_mem and goes much slower once
   * the graph outgrows it, so the transaction raises it; the statement timeout is lifted for the minutes a
   * large catalog takes.
   */
  async createHnswIndex(dimension: number): Promise<void> {
    assertDimension(dimension);
    await withLongStatements(this.dataSource, async (manager) => {
      await manager.query(`SET LOCAL maintenance_work_mem = '${HNSW_BUILD_MEMORY}'`);
      await manager.query(createHnswIndexStatement(dimension, { ifNotExists: true }));
    });
  }

  /** Whether movie_embeddings has never been analysed (reltuples is -1 until the first ANALYZE or VACUUM). */
  async neverAnalyzed(): Promise<boolean> {
    const [row] = await this.dataSource.query(
      `SELECT reltuples < 0 AS never FROM pg_class WHERE oid = 'movie_embeddings'::regclass`,
    );
    return row?.never === true;
  }

  /**
   * EXPLAIN of the nearest-neighbour statement with the settings `nearest` runs it under, for tests and the
   * benchmark; `analyze` executes it too.
   */
  async explainNearest(
    query: NeighbourQuery | MoviesNeighbourQuery,
    tuning: SearchTuning,
    analyze = false,
  ): Promise<string> {
    const iterative = await this.supportsIterativeScan();
    const { sql, params } = 'movieIds' in query ? moviesNeighbourQuerySql(query) : neighbourQuerySql(query);
    const rows = await this.queryWithSettings<{ 'QUERY PLAN': string }>(
      preferHnsw(Math.round(tuning.efSearch), iterative),
      `EXPLAIN ${analyze ? '(ANALYZE, COSTS OFF) ' : ''}${sql}`,
      params,
    );
    return rows.map((row) => row['QUERY PLAN'].replace(/'\[[^\]]*\]'/g, "'[…]'")).join('\n');
  }
}

/**
 * Settings for an approximate search: answer in HNSW index order. The planner would often pick something
 * else because its cost model ignores what dominates here: reading the embeddings (over 2 kB at 512-d, so
 * stored out of line in TOAST) and computing a distance per row. Left alone on ml-latest-small it chose an
 * exact scan (~50 ms, against ~4 ms through HNSW) at ef_search 40 but the index at 20 and 60 (pgvector's cost
 * estimate is not monotonic in ef_search), and with a genre filter a nested loop over every matching movie.
 * Disabling sorts rules out every plan but the index-ordered one; sequential and bitmap scans are disabled
 * so the genre lookup stays a primary-key probe per candidate. Disabling only penalises a plan, so without an
 * HNSW index for the dimension the planner still falls back to scanning and sorting.
 */
function preferHnsw(efSearch: number, iterative: boolean): string[] {
  if (!Number.isInteger(efSearch)) throw new RangeError(`efSearch must be an integer, got ${efSearch}`);
  return [
    `SET LOCAL hnsw.ef_search = ${efSearch}`,
    ...(iterative ? [`SET LOCAL hnsw.iterative_scan = relaxed_order`] : []),
    `SET LOCAL enable_sort = off`,
    `SET LOCAL enable_seqscan = off`,
    `SET LOCAL enable_bitmapscan = off`,
  ];
}

/**
 * Settings for an exact search: no index scans (so not HNSW: every eligible row is compared), and no
 * nested loops. Without statistics (a freshly built index; PGlite never auto-analyses) the planner
 * took movie_embeddings for one row and joined the genre filter by a nested loop that scanned all of
 * movies once per embedding: 2.35 s against 1.3 ms by hash join for 3,000 movies, 14–18 s on
 * ml-latest-small. The lateral join of the several-movies form still runs as the nested loop it must be.
 */
const EXACT_SCAN_SETTINGS = [
  `SET LOCAL enable_indexscan = off`,
  `SET LOCAL enable_bitmapscan = off`,
  `SET LOCAL enable_nestloop = off`,
];
