import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One embedding per movie, for whichever model is active. The column is an untyped `vector` because the
 * dimension depends on the model; HNSW needs a fixed dimension, so each supported dimension gets its own
 * partial expression index, and queries repeat the exact cast and predicate so the planner can match them.
 */
export const INDEXED_EMBEDDING_DIMENSIONS = [384, 512] as const;

export function hnswIndexName(dimension: number): string {
  return `movie_embeddings_hnsw_${dimension}`;
}

/** The dimension's HNSW index; the content indexer rebuilds it with this same statement after a bulk write. */
export function createHnswIndexStatement(dimension: number, options: { ifNotExists?: boolean } = {}): string {
  return `CREATE INDEX ${options.ifNotExists ? 'IF NOT EXISTS ' : ''}${hnswIndexName(dimension)} ON movie_embeddings
           USING hnsw ((embedding::vector(${dimension})) vector_cosine_ops) WHERE dimension = ${dimension}`;
}

export class ContentEmbeddings1764000300000 implements MigrationInterface {
  name = 'ContentEmbeddings1764000300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE movie_embeddings (
        movie_id integer PRIMARY KEY REFERENCES movies (id) ON DELETE CASCADE,
        model_id text NOT NULL CHECK (model_id <> ''),
        dimension integer NOT NULL CHECK (dimension > 0),
        text_hash text NOT NULL,
        embedding vector NOT NULL,
        embedded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT movie_embeddings_dimension_matches CHECK (vector_dims(embedding) = dimension)
      )`);
    // Deliberately no index on model_id: one model is active at a time, so it would not narrow anything, and
    // the planner would prefer it (plus a sort over every row) to HNSW on small and mid-sized catalogs.
    for (const dimension of INDEXED_EMBEDDING_DIMENSIONS) {
      await db.query(createHnswIndexStatement(dimension));
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS movie_embeddings`);
  }
}
