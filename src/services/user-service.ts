import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { transactionWithRetry } from '../db/transaction';
import { CacheCounts, readMany, VersionedCache, Versions } from '../cache';
import { ServiceError } from './errors';
import { RatingService } from './rating-service';

export interface Viewer {
  userId: number;
}

export interface OnboardResult {
  userId: number;
  /** Shown once; only its hash is stored. */
  token: string;
}

const TOKEN_PREFIX = 'cg_';

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface UserAccess {
  id: number;
  hasToken: boolean;
}

export class UserService {
  private readonly known: VersionedCache<number, UserAccess>;

  constructor(
    private readonly db: DataSource,
    private readonly ratings: RatingService,
    versions: Versions | null = null,
  ) {
    this.known = new VersionedCache({ max: 100_000, versions });
  }

  /** Hits and misses of the known-users cache, for /metrics. */
  get cacheCounts(): CacheCounts {
    return this.known.counts;
  }

  /** Creates a user with their first ratings in one transaction; bad input leaves nothing behind. */
  async onboard(ratings: readonly { movieId: number; rating: number }[]): Promise<OnboardResult> {
    // A user with no ratings has nothing to recommend from and would only be an empty account.
    if (ratings.length === 0) throw new ServiceError('BAD_USER_INPUT', 'onboard needs at least one rating');
    if (ratings.length > 500)
      throw new ServiceError('BAD_USER_INPUT', 'at most 500 ratings can be sent at once');
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const { userId, version } = await transactionWithRetry(this.db, async (tx) => {
      const [user]: { id: number }[] = await tx.query(
        `INSERT INTO users (token_hash) VALUES ($1) RETURNING id`,
        [hashToken(token)],
      );
      return { userId: user.id, version: await this.ratings.insertInitial(tx, user.id, ratings) };
    });
    await this.ratings.notify(userId, version);
    return { userId, token };
  }

  /** The user a bearer token belongs to; null when there is no Authorization header. */
  async authenticate(authorization: string | undefined): Promise<Viewer | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match || !match[1].startsWith(TOKEN_PREFIX))
      throw new ServiceError(
        'UNAUTHENTICATED',
        'Authorization must be "Bearer <token>" with a token from onboard',
      );
    const rows: { id: number }[] = await this.db.query(`SELECT id FROM users WHERE token_hash = $1`, [
      hashToken(match[1]),
    ]);
    if (rows.length === 0) throw new ServiceError('UNAUTHENTICATED', 'unknown or revoked token');
    return { userId: rows[0].id };
  }

  /**
   * Which of these users exist, and whether each is private (has a token). Found users are
   * remembered: every read of a user's data asks, users are never deleted and their token is set
   * once, at onboarding; an id not found is asked again next time.
   */
  async existing(userIds: readonly number[]): Promise<Map<number, UserAccess>> {
    const found = await readMany(userIds, this.known, 0, async (ids) => {
      const rows: { id: number; has_token: boolean }[] = await this.db.query(
        `SELECT id, token_hash IS NOT NULL AS has_token FROM users WHERE id = ANY($1::int[])`,
        [ids],
      );
      return rows.map((row) => ({ id: row.id, hasToken: row.has_token }));
    });
    return new Map(found.map((access) => [access.id, access]));
  }
}
