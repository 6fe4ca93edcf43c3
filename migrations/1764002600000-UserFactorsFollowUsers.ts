import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user's folded-in factors go with the user. Ratings, tags and feedback events already cascade
 * from users, but model_user_factors had no key to users: a deleted user's factors stayed, and
 * every start read them with the active model's. The benchmarks delete the users they onboard, and
 * after an afternoon of `bench:serve` rounds ml-latest-small's benchmark database held 59,030
 * factor rows of users that no longer existed (79 MB) and a start failed on their read's statement
 * timeout (2026-12-07 18:37 UTC). The index serves the cascade: the key's user_id is second.
 */
export class UserFactorsFollowUsers1764002600000 implements MigrationInterface {
  name = 'UserFactorsFollowUsers1764002600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `DELETE FROM model_user_factors AS f WHERE NOT EXISTS (SELECT 1 FROM users AS u WHERE u.id = f.user_id)`,
    );
    await db.query(`CREATE INDEX IF NOT EXISTS model_user_factors_user_idx ON model_user_factors (user_id)`);
    await db.query(
      `ALTER TABLE model_user_factors ADD CONSTRAINT model_user_factors_user_id_fkey
         FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE model_user_factors DROP CONSTRAINT IF EXISTS model_user_factors_user_id_fkey`,
    );
    await db.query(`DROP INDEX IF EXISTS model_user_factors_user_idx`);
  }
}
