import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Onboarded users hold a bearer token; only its SHA-256 is stored. Imported MovieLens users have
 * none: they are public demo profiles that nobody can act for.
 */
export class UserAccess1764000400000 implements MigrationInterface {
  name = 'UserAccess1764000400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN token_hash text`);
    await db.query(
      `CREATE UNIQUE INDEX users_token_hash_idx ON users (token_hash) WHERE token_hash IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users DROP COLUMN token_hash`);
  }
}
