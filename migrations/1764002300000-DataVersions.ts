import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Versions that caches are validated against (src/cache/), and the notices that carry them to every
 * instance (LISTEN/NOTIFY on the channel `cinegraph.<schema>`, see src/db/versions.ts):
 *
 * - `users.ratings_version`: taken from one global sequence on every write of a user's ratings, in
 *   the writing transaction (RatingService). Per user it only grows; across users it orders the
 *   writes, so an instance that lost its notification connection polls `ratings_version > last seen`
 *   (hence the index).
 * - `data_versions`: 'catalog' (movies; bumped by any statement on movies and by every import,
 *   which also rewrites ratings in bulk) and 'index' (content vectors; bumped by any statement on
 *   movie_embeddings). Statement-level triggers, so a bulk write bumps once.
 * - the active model version is model_versions' active row; activating one notifies.
 *
 * pg_notify inside the writing transaction is delivered only when it commits.
 */
export class DataVersions1764002300000 implements MigrationInterface {
  name = 'DataVersions1764002300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE SEQUENCE ratings_version_seq`);
    await db.query(`ALTER TABLE users ADD COLUMN ratings_version bigint NOT NULL DEFAULT 0`);
    await db.query(`CREATE INDEX users_ratings_version_idx ON users (ratings_version)`);
    await db.query(`
      CREATE TABLE data_versions (
        name text PRIMARY KEY CHECK (name IN ('catalog', 'index')),
        version bigint NOT NULL
      )`);
    await db.query(`INSERT INTO data_versions (name, version) VALUES ('catalog', 1), ('index', 1)`);
    // The channel is per schema: tests (and tenants) sharing one database must not hear each other.
    await db.query(`
      CREATE FUNCTION cinegraph_notify(payload text) RETURNS void LANGUAGE sql AS $$
        SELECT pg_notify('cinegraph.' || current_schema(), payload)
      $$`);
    await db.query(`
      CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        bumped bigint;
      BEGIN
        UPDATE data_versions SET version = version + 1 WHERE name = TG_ARGV[0] RETURNING version INTO bumped;
        PERFORM cinegraph_notify(left(TG_ARGV[0], 1) || ':' || bumped);
        RETURN NULL;
      END
      $$`);
    await db.query(`
      CREATE TRIGGER movies_bump_catalog AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON movies
        FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('catalog')`);
    await db.query(`
      CREATE TRIGGER movie_embeddings_bump_index AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON movie_embeddings
        FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('index')`);
    await db.query(`
      CREATE FUNCTION notify_model_activated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM cinegraph_notify('m:' || NEW.id);
        RETURN NULL;
      END
      $$`);
    await db.query(`
      CREATE TRIGGER model_versions_notify_active AFTER INSERT OR UPDATE OF status ON model_versions
        FOR EACH ROW WHEN (NEW.status = 'active') EXECUTE FUNCTION notify_model_activated()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER model_versions_notify_active ON model_versions`);
    await db.query(`DROP TRIGGER movie_embeddings_bump_index ON movie_embeddings`);
    await db.query(`DROP TRIGGER movies_bump_catalog ON movies`);
    await db.query(`DROP FUNCTION notify_model_activated(), bump_data_version(), cinegraph_notify(text)`);
    await db.query(`DROP TABLE data_versions`);
    await db.query(`ALTER TABLE users DROP COLUMN ratings_version`);
    await db.query(`DROP SEQUENCE ratings_version_seq`);
  }
}
