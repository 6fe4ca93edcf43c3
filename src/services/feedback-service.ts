import { DataSource } from 'typeorm';
import { DomainError } from '../errors';
import { CacheCounts, VersionedCache } from '../cache';
import { WATCH_POSITIVE_FRACTION } from '../watch-rule';

export const FEEDBACK_EVENT_TYPES = ['IMPRESSION', 'CLICK', 'WATCH', 'NOT_INTERESTED'] as const;
export type FeedbackEventType = (typeof FEEDBACK_EVENT_TYPES)[number];

export interface FeedbackEventInput {
  /** The client's id for the event, unique per user: a resent event is recognised by it. */
  clientEventId: string;
  listId?: string | null;
  movieId: number;
  type: FeedbackEventType;
  /** The fraction watched, 0..1; WATCH only. */
  value?: number | null;
  /** When it happened; now when absent. */
  at?: Date | null;
}

export interface RecordedEvents {
  /** Events written now. */
  accepted: number;
  /** Events whose clientEventId this user had already sent (not written again). */
  duplicates: number;
}

/** Events in one recordEvents call at most. */
export const MAX_EVENTS_PER_BATCH = 500;
/** A client's clock may run this far ahead of the server's. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
export const MAX_CLIENT_EVENT_ID_LENGTH = 128;
/** Older events are refused as malformed: nothing the service recommends is that old to a client. */
const EARLIEST_EVENT = Date.UTC(2000, 0, 1);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A refused event batch; `eventIndex` says which event (0-based) when one is to blame. */
export class FeedbackInputError extends DomainError {
  constructor(code: 'BAD_USER_INPUT' | 'NOT_FOUND', message: string, eventIndex?: number) {
    super(code, message, eventIndex === undefined ? {} : { eventIndex });
  }
}

/** Checks a whole batch before anything is written; returns each event's time. */
export function validateEvents(events: readonly FeedbackEventInput[], now: number): Date[] {
  if (events.length > MAX_EVENTS_PER_BATCH)
    throw new FeedbackInputError(
      'BAD_USER_INPUT',
      `at most ${MAX_EVENTS_PER_BATCH} events per call, got ${events.length}`,
    );
  const seen = new Set<string>();
  return events.map((event, i) => {
    const bad = (message: string) => new FeedbackInputError('BAD_USER_INPUT', `event ${i}: ${message}`, i);
    const id = event.clientEventId;
    if (id.length === 0 || id.length > MAX_CLIENT_EVENT_ID_LENGTH)
      throw bad(`clientEventId must be 1 to ${MAX_CLIENT_EVENT_ID_LENGTH} characters`);
    if (seen.has(id)) throw bad(`clientEventId "${id}" appears twice in this batch`);
    seen.add(id);
    if (event.listId != null && !UUID.test(event.listId))
      throw bad(`listId must be a list's id as recommendations returned it (a UUID)`);
    if (!Number.isInteger(event.movieId) || event.movieId <= 0)
      throw bad(`movieId must be a positive integer, got ${event.movieId}`);
    if (!FEEDBACK_EVENT_TYPES.includes(event.type)) throw bad(`unknown event type ${String(event.type)}`);
    if (event.value != null) {
      if (event.type !== 'WATCH') throw bad(`value is only for WATCH events (the fraction watched)`);
      if (!Number.isFinite(event.value) || event.value < 0 || event.value > 1)
        throw bad(`value must be the fraction watched, between 0 and 1, got ${event.value}`);
    }
    const at = event.at ?? new Date(now);
    const time = at.getTime();
    if (!Number.isFinite(time)) throw bad('at is not a valid time');
    if (time > now + MAX_CLOCK_SKEW_MS)
      throw bad(
        `at ${at.toISOString()} is in the future (more than ${MAX_CLOCK_SKEW_MS / 60_000} min ahead)`,
      );
    if (time < EARLIEST_EVENT) throw bad(`at ${at.toISOString()} is before 2000`);
    return at;
  });
}

export interface FeedbackServiceOptions {
  /** Users whose excluded movies are kept at most (the least recently used goes first). */
  maxUsers?: number;
  /**
   * Told after the commit when a batch changed what the user's lists leave out, with the user's
   * new ratings version (the same per-user version a rating bumps, so every cache keyed on it —
   * finished lists included, on every instance — moves on at once).
   */
  exclusionsChanged?: (userId: number, version: number) => Promise<void>;
}

const NOTHING: ReadonlySet<number> = new Set();

/**
 * Feedback events: validated batches written by one statement (all or nothing), idempotent per (user,
 * clientEventId). Also the per-user set of movies the orchestrator leaves out of lists beyond the
 * rated ones — NOT_INTERESTED, and WATCH of at least WATCH_POSITIVE_FRACTION (seen to the end) —
 * cached per user for the user's ratings version: a batch holding such an event bumps that version
 * in its own statement (and notifies every instance), exactly like a rating.
 */
export class FeedbackService {
  /** Events written, by type (cinegraph_feedback_events_total). */
  readonly recordedByType: Record<FeedbackEventType, number> = {
    IMPRESSION: 0,
    CLICK: 0,
    WATCH: 0,
    NOT_INTERESTED: 0,
  };
  private readonly exclusions: VersionedCache<number, ReadonlySet<number>>;

  constructor(
    private readonly db: DataSource,
    private readonly options: FeedbackServiceOptions = {},
  ) {
    this.exclusions = new VersionedCache({ max: options.maxUsers ?? 10_000 });
  }

  get cacheCounts(): CacheCounts {
    return this.exclusions.counts;
  }

  async record(userId: number, events: readonly FeedbackEventInput[]): Promise<RecordedEvents> {
    const times = validateEvents(events, Date.now());
    if (events.length === 0) return { accepted: 0, duplicates: 0 };
    // One statement, so one round trip and atomic on its own: the movie check and the insert see
    // the same snapshot, and with an unknown movie the insert's WHERE keeps every row out.
    const [result]: {
      unknown: number | null;
      counts: Partial<Record<FeedbackEventType, number>> | null;
      version: number | null;
    }[] = await this.db.query(
      `WITH e AS (
           SELECT * FROM unnest($2::text[], $3::uuid[], $4::int[], $5::text[], $6::real[], $7::timestamptz[])
             WITH ORDINALITY AS e(client_event_id, list_id, movie_id, type, value, occurred_at, n)),
         unknown AS (
           SELECT min(n) - 1 AS n FROM e WHERE NOT EXISTS (SELECT 1 FROM movies m WHERE m.id = e.movie_id)),
         written AS (
           INSERT INTO feedback_events (user_id, client_event_id, list_id, movie_id, type, value, occurred_at)
           SELECT $1, client_event_id, list_id, movie_id, type, value, occurred_at FROM e
            WHERE (SELECT n FROM unknown) IS NULL
           ON CONFLICT (user_id, client_event_id) DO NOTHING
           RETURNING type, value),
         bumped AS (
           UPDATE users SET ratings_version = nextval('ratings_version_seq')
            WHERE id = $1
              AND EXISTS (SELECT 1 FROM written
                           WHERE type = 'NOT_INTERESTED' OR (type = 'WATCH' AND value >= ${WATCH_POSITIVE_FRACTION}))
           RETURNING id, ratings_version)
         SELECT (SELECT n FROM unknown)::int AS unknown,
                (SELECT json_object_agg(type, count) FROM (SELECT type, count(*) AS count FROM written GROUP BY type) t)
                  AS counts,
                (SELECT ratings_version::float8 FROM bumped) AS version,
                (SELECT cinegraph_notify('u:' || id || ':' || ratings_version)::text FROM bumped) AS sent`,
      [
        userId,
        events.map((e) => e.clientEventId),
        events.map((e) => e.listId ?? null),
        events.map((e) => e.movieId),
        events.map((e) => e.type),
        events.map((e) => e.value ?? null),
        times,
      ],
    );
    if (result.unknown !== null)
      throw new FeedbackInputError(
        'NOT_FOUND',
        `event ${result.unknown}: unknown movie id ${events[result.unknown].movieId}`,
        result.unknown,
      );
    const written = Object.entries(result.counts ?? {}) as [FeedbackEventType, number][];
    let accepted = 0;
    for (const [type, count] of written) {
      this.recordedByType[type] += count;
      accepted += count;
    }
    // After the commit, like a rating: the user's next list, here and on every instance, is one of
    // the new version and so leaves the movie out. A resent exclusion changes nothing.
    if (result.version !== null) await this.options.exclusionsChanged?.(userId, result.version);
    return { accepted, duplicates: events.length - accepted };
  }

  /** The movies the user is not interested in or watched (see the class comment), as of `version`. */
  excludedOf(userId: number, version: number): Promise<ReadonlySet<number>> {
    return this.exclusions.getOrLoad(userId, version, () => this.readExcluded(userId));
  }

  private async readExcluded(userId: number): Promise<ReadonlySet<number>> {
    // The predicate is the partial index's (feedback_events_excluded_idx), literally, so it is used.
    const rows: { movie_id: number }[] = await this.db.query(
      `SELECT DISTINCT movie_id FROM feedback_events
        WHERE user_id = $1 AND (type = 'NOT_INTERESTED' OR (type = 'WATCH' AND value >= 0.8))`,
      [userId],
    );
    // Most users have none: one shared empty Set keeps their lists reusable across re-reads.
    return rows.length === 0 ? NOTHING : new Set(rows.map((r) => r.movie_id));
  }
}
