import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Implicit feedback with attribution. `recommendation_lists` holds every list served (written in
 * batches after it was served, so it has no foreign keys that could fail a whole batch);
 * `feedback_events` holds what users did with movies (shown, clicked, watched, dismissed), each event
 * idempotent by the client's id for it. An event's list_id is deliberately not a foreign key: the
 * list it names may still be in the server's write buffer when the event arrives.
 */
export class FeedbackEvents1764002100000 implements MigrationInterface {
  name = 'FeedbackEvents1764002100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE recommendation_lists (
        list_id uuid PRIMARY KEY,
        user_id integer NOT NULL,
        strategy_requested text NOT NULL,
        strategy_used text NOT NULL,
        experiment text,
        variant text,
        movie_ids integer[] NOT NULL,
        served_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX recommendation_lists_served_at_idx ON recommendation_lists (served_at)`);
    await db.query(
      `CREATE INDEX recommendation_lists_experiment_idx ON recommendation_lists (experiment, variant, served_at)
         WHERE experiment IS NOT NULL`,
    );
    await db.query(`
      CREATE TABLE feedback_events (
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        client_event_id text NOT NULL CHECK (client_event_id <> ''),
        list_id uuid,
        movie_id integer NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
        type text NOT NULL CHECK (type IN ('IMPRESSION', 'CLICK', 'WATCH', 'NOT_INTERESTED')),
        value real CHECK (value IS NULL OR (type = 'WATCH' AND value BETWEEN 0 AND 1)),
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, client_event_id)
      )`);
    await db.query(
      `CREATE INDEX feedback_events_list_idx ON feedback_events (list_id) WHERE list_id IS NOT NULL`,
    );
    await db.query(`CREATE INDEX feedback_events_occurred_at_idx ON feedback_events (occurred_at)`);
    // What every list leaves out for the user (not interested, watched to the end): read per user
    // on their first request. 0.8 is WATCH_POSITIVE_FRACTION (training/implicit-feedback.ts).
    await db.query(
      `CREATE INDEX feedback_events_excluded_idx ON feedback_events (user_id, movie_id)
         WHERE type = 'NOT_INTERESTED' OR (type = 'WATCH' AND value >= 0.8)`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS feedback_events, recommendation_lists`);
  }
}
