import type { Logger } from '../logger';

/**
 * Warns, once at start, when PostgreSQL will not vacuum on its own. Every rating rewrites its
 * movie's statistics row and the user's row (ratings_version), so the dead rows grow with the
 * ratings taken, not with the data: with autovacuum off, 15 runs of `bench:serve` left 1.35 million
 * dead rows in ratings against 100,836 live, 140,834 in movie_rating_stats against 9,724, and
 * deleting 890 users took 57 s instead of 0.6 s (2026-12-07). A setting read that fails says nothing:
 * the check must never stop a start.
 */
export async function warnWithoutAutovacuum(
  query: (sql: string) => Promise<{ setting: string | null }[]>,
  logger: Pick<Logger, 'warn'>,
): Promise<boolean> {
  let setting: string | null | undefined;
  try {
    [{ setting }] = await query(`SELECT current_setting('autovacuum', true) AS setting`);
  } catch {
    return false;
  }
  if (setting !== 'off') return false;
  logger.warn(
    'PostgreSQL runs with autovacuum off: ratings leave dead rows behind (their movie statistics and ' +
      'user rows are rewritten with each), which slow reads and deletes until a VACUUM; turn it on ' +
      '(autovacuum = on, the default) or vacuum the ratings, movie_rating_stats and users tables ' +
      'on a schedule',
  );
  return true;
}
