import type { Versions } from './versions';

/**
 * A value computed from everybody's ratings (the statistical engine's ranking snapshot and global
 * statistics), computed again only once a rating or an import happened since: its loader is
 * called every time its VersionedCache entry ages, and answers the value it kept while the stamp
 * below has not moved. Why: at 25M (59K rated movies) each reload of the ranking snapshot read
 * 59K rows (145 ms of PostgreSQL) and rebuilt them on the API thread, and the global statistics
 * scanned them again (137 ms), every 10 s whether or not anybody had rated anything.
 *
 * The stamp is what this instance knows of every write: the catalog version (imports, movies) and
 * the highest ratings version (one sequence numbers every write of ratings, watches and marks
 * through the service, and the version feed brings other instances' writes). A write that bypasses
 * the service (SQL by hand, users deleted in bulk) moves neither, so a kept value is also
 * recomputed once `maxUnchangedMs` old.
 */
export class UnchangedReuse<T> {
  private kept: { stamp: string; at: number; value: T } | null = null;
  /** Moved by forget(): a load that started before it is not kept. */
  private forgotten = 0;

  constructor(
    /** Null: no versions known (a standalone engine): every call loads. */
    private readonly versions: Versions | null,
    private readonly maxUnchangedMs: number,
    private readonly now: () => number,
  ) {}

  private stamp(): string | null {
    return this.versions ? `${this.versions.catalog}:${this.versions.highestUserVersion}` : null;
  }

  /** The kept value while the stamp is the one it was loaded under; otherwise `load()`'s. */
  async get(load: () => Promise<T>): Promise<T> {
    // Taken before loading: a write during the load moves the stamp, so the next call loads again.
    const stamp = this.stamp();
    const at = this.now();
    const kept = this.kept;
    if (stamp !== null && kept && kept.stamp === stamp && at - kept.at < this.maxUnchangedMs)
      return kept.value;
    const forgotten = this.forgotten;
    const value = await load();
    if (forgotten === this.forgotten) this.kept = stamp === null ? null : { stamp, at, value };
    return value;
  }

  /** The next call loads whatever the stamp says. */
  forget(): void {
    this.kept = null;
    this.forgotten++;
  }
}
