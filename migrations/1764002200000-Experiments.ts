import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A/B experiments: an experiment and its variants, each fixing the orchestrator's strategy, weights
 * and diversity for a share of the users. Variants keep their position: assignment lays the shares
 * end to end in that order, so reordering would move users between variants. At most one experiment
 * is active at a time (each variant fixes the whole list, so two at once would confound each other).
 */
export class Experiments1764002200000 implements MigrationInterface {
  name = 'Experiments1764002200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE experiments (
        name text PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('active', 'stopped')),
        control text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        stopped_at timestamptz,
        CHECK ((status = 'stopped') = (stopped_at IS NOT NULL))
      )`);
    await db.query(
      `CREATE UNIQUE INDEX experiments_one_active_idx ON experiments ((true)) WHERE status = 'active'`,
    );
    await db.query(`
      CREATE TABLE experiment_variants (
        experiment text NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
        position integer NOT NULL,
        name text NOT NULL,
        strategy text NOT NULL CHECK (strategy IN ('HYBRID', 'COLLABORATIVE', 'CONTENT', 'STATISTICAL')),
        share double precision NOT NULL CHECK (share > 0 AND share <= 1),
        weight_collaborative double precision,
        weight_content double precision,
        weight_statistical double precision,
        diversity double precision CHECK (diversity BETWEEN 0 AND 1),
        PRIMARY KEY (experiment, name),
        UNIQUE (experiment, position)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS experiment_variants, experiments`);
  }
}
