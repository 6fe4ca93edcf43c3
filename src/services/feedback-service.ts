import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { transactionWithRetry } from '../db/transaction';
import { DomainError } from '../errors';
import { CacheCounts, newCacheCounts } from '../engines/short-lived-cache';

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

export interface DismissalCacheOptions {
  /**
   * Past this age a user's dismissed movies are re-read in the background (the old set answers
   * meanwhile): it bounds how long a dismissal recorded by another process goes unseen.
   */
  ttlMs?: number;
  maxUsers?: number;
  now?: () => number;
}

interface DismissalEntry {
  at: number;
  set: Promise<ReadonlySet<number>>;
  value?: ReadonlySet<number>;
  revalidating?: boolean;
}

const NOTHING: ReadonlySet<number> = new Set();

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false;
  for (const id of a) if (!b.has(id)) return false;
  return true;
}

/**
 * Feedback events: validated batches written in one transaction, idempotent per (user,
 * clientEventId). Also the per-user set of NOT_INTERESTED movies the orchestrator leaves out,
 * cached and handed back as the very same Set while unchanged (so finished lists stay reusable),
 * dropped the moment this process records a new dismissal.
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
  private readonly dismissals = new Map<number, DismissalEntry>();
  private readonly ttlMs: number;
  private readonly maxUsers: number;
  private readonly now: () => number;

  constructor(
    private readonly db: DataSource,
    options: DismissalCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.maxUsers = options.maxUsers ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  async record(userId: number, events: readonly FeedbackEventInput[]): Promise<RecordedEvents> {
    const times = validateEvents(events, Date.now());
    if (events.length === 0) return { accepted: 0, duplicates: 0 };
    const written = await transactionWithRetry(this.db, async (tx) => {
      const movieIds = [...new Set(events.map((e) => e.movieId))];
      const rows: { id: number }[] = await tx.query(`SELECT id FROM movies WHERE id = ANY($1::int[])`, [
        movieIds,
      ]);
      const known = new Set(rows.map((r) => r.id));
      const unknown = events.findIndex((e) => !known.has(e.movieId));
      if (unknown >= 0)
        throw new FeedbackInputError(
          'NOT_FOUND',
          `event ${unknown}: unknown movie id ${events[unknown].movieId}`,
          unknown,
        );
      const inserted: { type: FeedbackEventType; count: number }[] = await tx.query(
        `WITH written AS (
           INSERT INTO feedback_events (user_id, client_event_id, list_id, movie_id, type, value, occurred_at)
           SELECT $1, e.client_event_id, e.list_id, e.movie_id, e.type, e.value, e.occurred_at
             FROM unnest($2::text[], $3::uuid[], $4::int[], $5::text[], $6::real[], $7::timestamptz[])
               AS e(client_event_id, list_id, movie_id, type, value, occurred_at)
           ON CONFLICT (user_id, client_event_id) DO NOTHING
           RETURNING type)
         SELECT type, count(*)::int AS count FROM written GROUP BY type`,
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
      return inserted;
    });
    let accepted = 0;
    for (const { type, count } of written) {
      this.recordedByType[type] += count;
      accepted += count;
    }
    // After commit, like a rating: the user's next list already leaves the movie out. A resent
    // dismissal forgets too (cheap), in case the first answer was lost before this process saw it.
    if (events.some((e) => e.type === 'NOT_INTERESTED')) this.forgetDismissals(userId);
    return { accepted, duplicates: events.length - accepted };
  }

  /** The movies the user is not interested in (every NOT_INTERESTED they sent). */
  dismissedOf(userId: number): Promise<ReadonlySet<number>> {
    const entry = this.dismissals.get(userId);
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
    const set = this.readDismissed(userId).then((fresh) =>
      previous && sameSet(previous, fresh) ? previous : fresh,
    );
    const created: DismissalEntry = { at: this.now(), set };
    this.dismissals.delete(userId);
    this.dismissals.set(userId, created);
    if (this.dismissals.size > this.maxUsers)
      this.dismissals.delete(this.dismissals.keys().next().value as number);
    set.then(
      (value) => {
        created.value = value;
      },
      () => {
        if (this.dismissals.get(userId) === created) this.dismissals.delete(userId);
      },
    );
    return set;
  }

  /** The next dismissedOf(userId) reads the database. */
  forgetDismissals(userId: number): void {
    this.dismissals.delete(userId);
  }

  private revalidate(userId: number, stale: DismissalEntry, previous: ReadonlySet<number>): void {
    if (stale.revalidating) return;
    stale.revalidating = true;
    this.readDismissed(userId).then(
      (fresh) => {
        if (this.dismissals.get(userId) !== stale) return;
        const value = sameSet(previous, fresh) ? previous : fresh;
        this.dismissals.set(userId, { at: this.now(), set: Promise.resolve(value), value });
      },
      () => {
        stale.revalidating = false;
      },
    );
  }

  private async readDismissed(userId: number): Promise<ReadonlySet<number>> {
    const rows: { movie_id: number }[] = await this.db.query(
      `SELECT DISTINCT movie_id FROM feedback_events WHERE user_id = $1 AND type = 'NOT_INTERESTED'`,
      [userId],
    );
    // Most users dismissed nothing: one shared empty Set keeps their lists reusable across re-reads.
    return rows.length === 0 ? NOTHING : new Set(rows.map((r) => r.movie_id));
  }
}
