import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * EASE as a third top-N kind. Its item-item matrix and the movies it covers are the factor blocks
 * ease_columns and ease_weights (topn_factors is empty for it); λ is in model_versions.params.
 */
export class EaseTopNModel1764002500000 implements MigrationInterface {
  name = 'EaseTopNModel1764002500000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE model_versions DROP CONSTRAINT IF EXISTS model_versions_topn_kind_check`);
    await db.query(
      `ALTER TABLE model_versions ADD CONSTRAINT model_versions_topn_kind_check
         CHECK (topn_kind IN ('puresvd', 'ials', 'ease'))`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    // Versions serving EASE cannot be read by the code this returns to.
    await db.query(`DELETE FROM model_versions WHERE topn_kind = 'ease'`);
    await db.query(`ALTER TABLE model_versions DROP CONSTRAINT IF EXISTS model_versions_topn_kind_check`);
    await db.query(
      `ALTER TABLE model_versions ADD CONSTRAINT model_versions_topn_kind_check
         CHECK (topn_kind IN ('puresvd', 'ials'))`,
    );
  }
}
