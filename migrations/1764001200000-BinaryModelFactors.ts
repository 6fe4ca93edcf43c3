import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A model version's arrays (ids, biases, factors) as raw little-endian typed-array bytes, cut in
 * blocks of a few megabytes. A warm start read 25M-rating factors as `real[]` text rows in 29 s, 24 s of
 * it parsing numbers (issue 12); bytes are copied into Float32Arrays as they arrive. Versions written
 * before this migration keep their `real[]` rows and are still read from them; model_user_factors
 * keeps the users folded in after training, which overlay the blocks.
 */
export class BinaryModelFactors1764001200000 implements MigrationInterface {
  name = 'BinaryModelFactors1764001200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE model_factor_blocks (
        model_id integer NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
        part text NOT NULL,
        block integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (model_id, part, block)
      )`);
    // Float bytes do not compress; EXTERNAL skips the attempt on every write and read.
    await db.query(`ALTER TABLE model_factor_blocks ALTER COLUMN data SET STORAGE EXTERNAL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS model_factor_blocks`);
  }
}
