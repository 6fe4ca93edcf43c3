import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hybrid weights calibrated when a model version was trained (chosen by NDCG@10 on a validation
 * split of its training ratings), with that validation figure: served when HYBRID_WEIGHTS=calibrated.
 * Null for versions trained before calibration existed, or without content vectors to calibrate on.
 */
export class HybridCalibration1764000700000 implements MigrationInterface {
  name = 'HybridCalibration1764000700000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE model_versions ADD COLUMN hybrid_weights jsonb`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE model_versions DROP COLUMN hybrid_weights`);
  }
}
