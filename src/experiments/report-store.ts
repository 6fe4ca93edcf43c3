import { DataSource } from 'typeorm';
import { NDCG_HORIZON_MS, NDCG_K, UserOutcome, WATCH_THROUGH_FRACTION, Window } from './outcomes';

interface OutcomeRow {
  user_id: number;
  variant: string;
  lists: string;
  shown: string;
  clicked: string;
  watched: string;
  ndcg_lists: string;
  ndcg_sum: number;
  ndcg_sum_sq: number;
}

/**
 * Per (variant, user) counts of one experiment over a window, computed in PostgreSQL: the exact
 * rules of src/experiments/outcomes.ts (its userOutcomes is the reference the tests hold this to).
 * Lists come from the (experiment, variant, served_at) index; events by list from the list_id index
 * and, for NDCG, each list's user's positive events after it from the user's events.
 */
export async function experimentOutcomes(
  db: DataSource,
  experiment: string,
  window: Window,
  horizonMs = NDCG_HORIZON_MS,
): Promise<UserOutcome[]> {
  const rows = (await db.query(
    `WITH lists AS (
       SELECT list_id, user_id, variant, movie_ids, served_at
         FROM recommendation_lists
        WHERE experiment = $1 AND served_at >= $2 AND served_at < $3
     ),
     items AS (
       SELECT l.user_id, l.variant, e.list_id, e.movie_id,
              bool_or(e.type IN ('CLICK', 'WATCH')) AS clicked,
              bool_or(e.type = 'WATCH' AND (e.value IS NULL OR e.value >= $4)) AS watched
         FROM lists l
         JOIN feedback_events e
           ON e.list_id = l.list_id AND e.user_id = l.user_id AND e.movie_id = ANY (l.movie_ids)
        WHERE e.occurred_at < $3
        GROUP BY l.user_id, l.variant, e.list_id, e.movie_id
     ),
     item_counts AS (
       SELECT user_id, variant, count(*) AS shown,
              count(*) FILTER (WHERE clicked) AS clicked,
              count(*) FILTER (WHERE watched) AS watched
         FROM items
        GROUP BY user_id, variant
     ),
     list_ndcg AS (
       SELECT l.user_id, l.variant, relevant.n AS relevant,
              (SELECT coalesce(sum(1 / log(2, r.position + 1)), 0)
                 FROM unnest(l.movie_ids[1:$6]) WITH ORDINALITY AS r(movie_id, position)
                WHERE r.movie_id = ANY (relevant.ids)) AS dcg,
              (SELECT sum(1 / log(2, i + 1)) FROM generate_series(1, least(relevant.n, $6)) AS i) AS idcg
         FROM lists l
         CROSS JOIN LATERAL (
           SELECT array_agg(DISTINCT p.movie_id) AS ids, count(DISTINCT p.movie_id)::int AS n
             FROM feedback_events p
            WHERE p.user_id = l.user_id
              AND p.occurred_at > l.served_at
              AND p.occurred_at <= least(l.served_at + $5 * interval '1 millisecond', $3)
              AND p.occurred_at < $3
              AND (p.type = 'CLICK' OR (p.type = 'WATCH' AND (p.value IS NULL OR p.value >= $4)))
         ) AS relevant
     ),
     list_counts AS (
       SELECT user_id, variant, count(*) AS lists,
              count(*) FILTER (WHERE relevant > 0) AS ndcg_lists,
              coalesce(sum(dcg / idcg) FILTER (WHERE relevant > 0), 0)::float8 AS ndcg_sum,
              coalesce(sum((dcg / idcg) ^ 2) FILTER (WHERE relevant > 0), 0)::float8 AS ndcg_sum_sq
         FROM list_ndcg
        GROUP BY user_id, variant
     )
     SELECT lc.user_id, lc.variant, lc.lists, coalesce(ic.shown, 0) AS shown,
            coalesce(ic.clicked, 0) AS clicked, coalesce(ic.watched, 0) AS watched,
            lc.ndcg_lists, lc.ndcg_sum, lc.ndcg_sum_sq
       FROM list_counts lc
       LEFT JOIN item_counts ic ON ic.user_id = lc.user_id AND ic.variant = lc.variant
      ORDER BY lc.variant, lc.user_id`,
    [experiment, new Date(window.since), new Date(window.until), WATCH_THROUGH_FRACTION, horizonMs, NDCG_K],
  )) as OutcomeRow[];
  return rows.map((r) => ({
    userId: r.user_id,
    variant: r.variant,
    lists: Number(r.lists),
    shown: Number(r.shown),
    clicked: Number(r.clicked),
    watched: Number(r.watched),
    ndcgLists: Number(r.ndcg_lists),
    ndcgSum: Number(r.ndcg_sum),
    ndcgSumSq: Number(r.ndcg_sum_sq),
  }));
}
