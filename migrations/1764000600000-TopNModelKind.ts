import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which top-N model a version serves: PureSVD or implicit ALS, chosen by training on a validation
 * split. Its item factors stay in model_item_factors.topn_factors whatever the kind; the kind's
 * scalar parameters live in model_versions.params. Versions written before this column serve PureSVD.
 */
export class TopNModelKind1764000600000 implements MigrationInterface {
  name = 'TopNModelKind1764000600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE model_versions
         ADD COLUMN topn_kind text NOT NULL DEFAULT 'puresvd' CHECK (topn_kind IN ('puresvd', 'ials'))`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE model_versions DROP COLUMN IF EXISTS topn_kind`);
  }
}
