/**
 * What counts, per user, in an experiment report: the exact semantics the report's SQL implements
 * (src/experiments/report-store.ts), written once in plain TypeScript so the simulation and the tests
 * can compute the same numbers from lists and events in memory.
 *
 * - A list counts when it was served in the window [since, until).
 * - An item of a list was **shown** when the user sent any event for it with that list's id (an
 *   IMPRESSION, or a CLICK, WATCH or NOT_INTERESTED, which imply it was seen), so CTR stays a
 *   proportion even when a client forgets an impression. Repeated events on one item of one list
 *   count once: the unit is the (list, movie) pair.
 * - It was **clicked** on a CLICK or WATCH (watching implies opening it), and **watched through** on a
 *   WATCH whose fraction is at least WATCH_THROUGH_FRACTION (a WATCH without a fraction counts as
 *   watched through: the client reported a watch, not a sample of one).
 * - CTR = clicked / shown; watch-through = watched through / clicked.
 * - NDCG@10 of a list: the user's **positive events** (CLICK, or a WATCH watched through) on any
 *   movie, through any list or none, strictly after the list was served, within NDCG_HORIZON_MS and
 *   before `until`, are its relevant movies (binary relevance); the list's top 10 is scored against
 *   them. A list with no later positive event has no NDCG (it is left out, not counted as 0).
 * - Events count only up to `until`, so a report over a closed window does not change later.
 */

export type FeedbackType = 'IMPRESSION' | 'CLICK' | 'WATCH' | 'NOT_INTERESTED';

export const WATCH_THROUGH_FRACTION = 0.8;
export const NDCG_K = 10;
/** A user's later clicks say something about a list for about a day; a week later it is another visit. */
export const NDCG_HORIZON_MS = 24 * 3600 * 1000;

export interface ServedList {
  listId: string;
  userId: number;
  variant: string;
  /** In rank order. */
  movieIds: readonly number[];
  servedAt: number;
}

export interface FeedbackEvent {
  userId: number;
  listId: string | null;
  movieId: number;
  type: FeedbackType;
  /** The watched fraction of a WATCH. */
  value: number | null;
  occurredAt: number;
}

/** One user's counts in one variant: what the statistics need (sums per user allow user-level variances). */
export interface UserOutcome {
  userId: number;
  variant: string;
  lists: number;
  shown: number;
  clicked: number;
  watched: number;
  /** Lists that have an NDCG (a later positive event), and the sum of their NDCG and of its square. */
  ndcgLists: number;
  ndcgSum: number;
  ndcgSumSq: number;
}

export interface Window {
  since: number;
  until: number;
}

export function isWatchedThrough(event: Pick<FeedbackEvent, 'type' | 'value'>): boolean {
  return event.type === 'WATCH' && (event.value === null || event.value >= WATCH_THROUGH_FRACTION);
}

export function isPositive(event: Pick<FeedbackEvent, 'type' | 'value'>): boolean {
  return event.type === 'CLICK' || isWatchedThrough(event);
}

/** Binary-relevance NDCG@k of a ranked list; null when nothing is relevant. */
export function ndcgAt(ranked: readonly number[], relevant: ReadonlySet<number>, k = NDCG_K): number | null {
  if (relevant.size === 0) return null;
  let dcg = 0;
  const depth = Math.min(k, ranked.length);
  for (let i = 0; i < depth; i++) if (relevant.has(ranked[i])) dcg += 1 / Math.log2(i + 2);
  let ideal = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return dcg / ideal;
}

/** Per (variant, user) counts over the window, users in ascending id order. */
export function userOutcomes(
  lists: readonly ServedList[],
  events: readonly FeedbackEvent[],
  window: Window,
  horizonMs = NDCG_HORIZON_MS,
): UserOutcome[] {
  const inWindow = lists.filter((l) => l.servedAt >= window.since && l.servedAt < window.until);
  const byId = new Map(inWindow.map((l) => [l.listId, l]));
  const counted = events.filter((e) => e.occurredAt < window.until);
  const pairs = new Map<string, { list: ServedList; clicked: boolean; watched: boolean }>();
  for (const event of counted) {
    const list = event.listId === null ? undefined : byId.get(event.listId);
    if (!list || list.userId !== event.userId || !list.movieIds.includes(event.movieId)) continue;
    const key = `${list.listId}|${event.movieId}`;
    const pair = pairs.get(key) ?? { list, clicked: false, watched: false };
    pair.clicked ||= event.type === 'CLICK' || event.type === 'WATCH';
    pair.watched ||= isWatchedThrough(event);
    pairs.set(key, pair);
  }
  const outcomes = new Map<string, UserOutcome>();
  const outcomeOf = (list: ServedList): UserOutcome => {
    const key = `${list.variant}|${list.userId}`;
    let outcome = outcomes.get(key);
    if (!outcome) {
      outcome = {
        userId: list.userId,
        variant: list.variant,
        lists: 0,
        shown: 0,
        clicked: 0,
        watched: 0,
        ndcgLists: 0,
        ndcgSum: 0,
        ndcgSumSq: 0,
      };
      outcomes.set(key, outcome);
    }
    return outcome;
  };
  for (const { list, clicked, watched } of pairs.values()) {
    const outcome = outcomeOf(list);
    outcome.shown += 1;
    if (clicked) outcome.clicked += 1;
    if (watched) outcome.watched += 1;
  }
  const positives = new Map<number, FeedbackEvent[]>();
  for (const event of counted) {
    if (!isPositive(event)) continue;
    const own = positives.get(event.userId) ?? [];
    own.push(event);
    positives.set(event.userId, own);
  }
  for (const list of inWindow) {
    const outcome = outcomeOf(list);
    outcome.lists += 1;
    const end = Math.min(list.servedAt + horizonMs, window.until);
    const relevant = new Set(
      (positives.get(list.userId) ?? [])
        .filter((e) => e.occurredAt > list.servedAt && e.occurredAt <= end && e.occurredAt < window.until)
        .map((e) => e.movieId),
    );
    const ndcg = ndcgAt(list.movieIds, relevant);
    if (ndcg === null) continue;
    outcome.ndcgLists += 1;
    outcome.ndcgSum += ndcg;
    outcome.ndcgSumSq += ndcg * ndcg;
  }
  return [...outcomes.values()].sort((a, b) => a.variant.localeCompare(b.variant) || a.userId - b.userId);
}
