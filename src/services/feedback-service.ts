import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { DomainError } from '../errors';
import { CacheCounts, newCacheCounts } from '../engines/short-lived-cache';

/**
 * A WATCH of at least this fraction counts as the user having seen and liked the movie: it leaves
 * their lists like a rating, and training counts it as a positive (training/implicit-feedback.ts).
 * Below it nothing is inferred: stopping halfway says little (interrupted, or disliked). The partial
 * index feedback_events_excluded_idx repeats the value.
 */
export const WATCH_POSITIVE_FRACTION = 0.8;

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

export interface ExclusionCacheOptions {
  /**
   * Past this age a user's excluded movies are re-read in the background (the old set answers
   * meanwhile): it bounds how long an event recorded by another process goes unseen.
   */
  ttlMs?: number;
  maxUsers?: number;
  now?: () => number;
}

interface ExclusionEntry {
  at: number;
  set: Promise<ReadonlySet<number>>;
  value?: ReadonlySet<number>;
  revalidating?: boolean;
}

const NOTHING: ReadonlySet<number> = new Set();

/** Whether an event leaves its movie out of the user's lists from now on. */
function excludes(event: FeedbackEventInput): boolean {
  return (
    event.type === 'NOT_INTERESTED' ||
    (event.type === 'WATCH' && (event.value ?? 0) >= WATCH_POSITIVE_FRACTION)
  );
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false;
  for (const id of a) if (!b.has(id)) return false;
  return true;
}

/**
 * Feedback events: validated batches written by one statement (all or nothing), idempotent per (user,
 * clientEventId). Also the per-user set of movies the orchestrator leaves out of lists beyond the
 * rated ones — NOT_INTERESTED, and WATCH of at least WATCH_POSITIVE_FRACTION (seen to the end) —
 * cached and handed back as the very same Set while unchanged (so finished lists stay reusable),
 * dropped the moment this process records such an event for the user.
 */
export class FeedbackService {
  /** Events written, by type (cinegraph_feedback_events_total). */
  readonly recordedByType: Record<FeedbackEventType, number> = {
    IMPRESSION: 0,
    CLICK: 0,
    WATCH: 0,
    NOT_INTERESTED: 0,
  };
  readonly cacheCounts: CacheCounts = newCacheCounts();
  private readonly exclusions = new Map<number, ExclusionEntry>();
  private readonly ttlMs: number;
  private readonly maxUsers: number;
  private readonly now: () => number;

  constructor(
    private readonly db: DataSource,
    options: ExclusionCacheOptions = {},
  ) {
    // 30 s, not the ratings' 10 s: a re-read is a round trip per active user, and what it catches
    // (an event recorded by another process) the finished-list cache holds back that long anyway.
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxUsers = options.maxUsers ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  async record(userId: number, events: readonly FeedbackEventInput[]): Promise<RecordedEvents> {
    const times = validateEvents(events, Date.now());
    if (events.length === 0) return { accepted: 0, duplicates: 0 };
    // One statement, so one round trip and atomic on its own: the movie check and the insert see
    // the same snapshot, and with an unknown movie the insert's WHERE keeps every row out.
    const [result]: { unknown: number | null; counts: Partial<Record<FeedbackEventType, number>> | null }[] =
      await this.db.query(
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
           RETURNING type)
         SELECT (SELECT n FROM unknown)::int AS unknown,
                (SELECT json_object_agg(type, count) FROM (SELECT type, count(*) AS count FROM written GROUP BY type) t)
                  AS counts`,
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
    // After commit, like a rating: the user's next list already leaves the movie out. A resent
    // event forgets too (cheap), in case the first answer was lost before this process saw it.
    if (events.some(excludes)) this.forgetExclusions(userId);
    return { accepted, duplicates: events.length - accepted };
  }

  /** The movies the user is not interested in or watched (see the class comment). */
  excludedOf(userId: number): Promise<ReadonlySet<number>> {
    const entry = this.exclusions.get(userId);
    if (entry && this.now() - entry.at < this.ttlMs) {
      this.cacheCounts.hits++;
      return entry.set;
    }
    if (entry?.value) {
      this.cacheCounts.hits++;
      this.revalidate(userId, entry, entry.value);
      return entry.set;
    }
    this.cacheCounts.misses++;
    const previous = entry?.value;
    const set = this.readExcluded(userId).then((fresh) =>
      previous && sameSet(previous, fresh) ? previous : fresh,
    );
    const created: ExclusionEntry = { at: this.now(), set };
    this.exclusions.delete(userId);
    this.exclusions.set(userId, created);
    if (this.exclusions.size > this.maxUsers)
      this.exclusions.delete(this.exclusions.keys().next().value as number);
    set.then(
      (value) => {
        created.value = value;
      },
      () => {
        if (this.exclusions.get(userId) === created) this.exclusions.delete(userId);
      },
    );
    return set;
  }

  /** The next excludedOf(userId) reads the database. */
  forgetExclusions(userId: number): void {
    this.exclusions.delete(userId);
  }

  private revalidate(userId: number, stale: ExclusionEntry, previous: ReadonlySet<number>): void {
    if (stale.revalidating) return;
    stale.revalidating = true;
    this.readExcluded(userId).then(
      (fresh) => {
        if (this.exclusions.get(userId) !== stale) return;
        const value = sameSet(previous, fresh) ? previous : fresh;
        this.exclusions.set(userId, { at: this.now(), set: Promise.resolve(value), value });
      },
      () => {
        stale.revalidating = false;
      },
    );
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
