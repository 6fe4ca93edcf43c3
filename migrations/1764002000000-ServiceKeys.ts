import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service keys (server-to-server credentials, created by `npm run keys`): only the SHA-256 of a key
 * is stored. Users get the integrator's own id (`external_id`) and an explicit `is_private` flag:
 * privacy used to be read from "has a token", which would turn a user public the moment their
 * token is revoked, and users created by a service key have no token at all.
 */
export class ServiceKeys1764002000000 implements MigrationInterface {
  name = 'ServiceKeys1764002000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE service_keys (
        id serial PRIMARY KEY,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
        key_hash text NOT NULL,
        scopes text[] NOT NULL
          CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']::text[]),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX service_keys_key_hash_idx ON service_keys (key_hash)`);
    // A name names one live key; a revoked key's name can be given to a new one (rotation does).
    await db.query(
      `CREATE UNIQUE INDEX service_keys_live_name_idx ON service_keys (name) WHERE revoked_at IS NULL`,
    );
    await db.query(`ALTER TABLE users ADD COLUMN external_id text`);
    await db.query(
      `ALTER TABLE users ADD CONSTRAINT users_external_id_length CHECK (char_length(external_id) BETWEEN 1 AND 256)`,
    );
    await db.query(
      `CREATE UNIQUE INDEX users_external_id_idx ON users (external_id) WHERE external_id IS NOT NULL`,
    );
    await db.query(`ALTER TABLE users ADD COLUMN is_private boolean NOT NULL DEFAULT false`);
    await db.query(`UPDATE users SET is_private = true WHERE token_hash IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users DROP COLUMN is_private`);
    await db.query(`ALTER TABLE users DROP COLUMN external_id`);
    await db.query(`DROP TABLE service_keys`);
  }
}
