import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trained collaborative models. A version is written whole in one transaction and only then
 * activated, so a failed or interrupted training never touches the model being served. At most
 * one version is active (partial unique index); the previous one is kept for rollback.
 */
export class CollaborativeModels1764000100000 implements MigrationInterface {
  name = 'CollaborativeModels1764000100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE model_versions (
        id serial PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        activated_at timestamptz,
        status text NOT NULL CHECK (status IN ('ready', 'active', 'retired')),
        hyperparameters jsonb NOT NULL,
        metrics jsonb NOT NULL,
        params jsonb NOT NULL
      )`);
    await db.query(
      `CREATE UNIQUE INDEX model_versions_one_active ON model_versions ((true)) WHERE status = 'active'`,
    );
    await db.query(`
      CREATE TABLE model_item_factors (
        model_id integer NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        movie_id integer NOT NULL,
        bias real NOT NULL,
        factors real[] NOT NULL,
        topn_factors real[] NOT NULL,
        PRIMARY KEY (model_id, movie_id)
      )`);
    await db.query(`
      CREATE TABLE model_user_factors (
        model_id integer NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        user_id integer NOT NULL,
        bias real NOT NULL,
        factors real[] NOT NULL,
        folded_in_at timestamptz,
        PRIMARY KEY (model_id, user_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS model_user_factors, model_item_factors, model_versions`);
  }
}
