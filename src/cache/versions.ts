import { LRUCache } from 'lru-cache';
import type { VersionNotice } from '../db/versions';

export type { VersionNotice } from '../db/versions';

type Listener = (notice: VersionNotice) => void;

/** Users whose ratings version is remembered; a forgotten one only costs a re-read (see userVersion). */
const REMEMBERED_USER_VERSIONS = 500_000;

/**
 * The versions this instance knows, held in memory so a request compares numbers instead of asking
 * the database. They rise as notices arrive (src/cache/version-feed.ts, or in-process after a local
 * commit) and as reads return newer data; see src/cache/versioned-cache.ts for how caches use them.
 */
export class Versions {
  /** Movies, and bulk rewrites of ratings (imports). */
  catalog = 0;
  /** The content index generation. */
  index = 0;
  /** The active collaborative model version id; 0 before any is known. */
  model = 0;
  /** The highest ratings version seen (one sequence orders every user's writes): the poll's watermark. */
  highestUserVersion = 0;
  private readonly users = new LRUCache<number, number>({ max: REMEMBERED_USER_VERSIONS });
  private readonly listeners = new Set<Listener>();

  /**
   * The user's ratings version as far as this instance knows; undefined when it has not seen the
   * user since the entry was evicted, which makes every cached entry of theirs stale (a re-read
   * tells it again), never wrongly fresh.
   */
  userVersion(userId: number): number | undefined {
    return this.users.get(userId);
  }

  /**
   * Takes a notice (or a version a read returned) into account and tells the listeners when it
   * moved something. User, catalog and index versions only rise: a late or repeated notice cannot
   * take one back. The model version is whatever was activated last (a rollback activates an older id).
   */
  observe(notice: VersionNotice): boolean {
    let changed: boolean;
    switch (notice.kind) {
      case 'user': {
        const known = this.users.get(notice.userId);
        if (notice.version > this.highestUserVersion) this.highestUserVersion = notice.version;
        changed = known === undefined || notice.version > known;
        if (changed) this.users.set(notice.userId, notice.version);
        break;
      }
      case 'model':
        changed = notice.version !== this.model;
        this.model = notice.version;
        break;
      case 'index':
        changed = notice.version > this.index;
        if (changed) this.index = notice.version;
        break;
      case 'catalog':
        changed = notice.version > this.catalog;
        if (changed) this.catalog = notice.version;
        break;
    }
    if (changed) for (const listener of this.listeners) listener(notice);
    return changed;
  }

  /**
   * What a read of the user's ratings returned: raises the known version like a notice, without
   * telling listeners (nothing changed that they had not read).
   */
  sawUser(userId: number, version: number): void {
    const known = this.users.get(userId);
    if (known === undefined || version > known) this.users.set(userId, version);
    if (version > this.highestUserVersion) this.highestUserVersion = version;
  }

  /** Called with every notice that moved a version; returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
