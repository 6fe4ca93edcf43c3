import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { transactionWithRetry } from '../db/transaction';
import { CacheCounts, readMany, VersionedCache, Versions } from '../cache';
import { errorCode } from '../db/errors';
import { type NamedStatement, queryNamed } from '../db/prepared';
import { ServiceError } from './errors';
import { RatingService } from './rating-service';
import { SERVICE_KEY_PREFIX, ServiceKeyPrincipal, ServiceKeyStore } from './service-keys';

/** The end user a bearer token belongs to. */
export interface Viewer {
  userId: number;
}

/** Who a request acts as: an end user (their token) or an integrator's server (a service key). */
export type Principal = ({ kind: 'user' } & Viewer) | ({ kind: 'service' } & ServiceKeyPrincipal);

/** The integrator's id for a user: opaque to us, so any text within a bound that indexes well. */
export const MAX_EXTERNAL_ID_LENGTH = 256;

/**
 * An external id as the users table stores it, or BAD_USER_INPUT: 1–256 characters (code points,
 * as PostgreSQL counts them), no control characters (they hide in logs and break CSV exports) and
 * no lone surrogates (UTF-8 cannot encode them, so two different ids would be stored as one).
 */
export function checkExternalId(externalId: string): string {
  const length = [...externalId].length;
  if (length === 0 || length > MAX_EXTERNAL_ID_LENGTH)
    throw new ServiceError(
      'BAD_USER_INPUT',
      `externalId must be 1 to ${MAX_EXTERNAL_ID_LENGTH} characters, got ${length}`,
    );
  if (/[\p{Cc}\p{Cs}]/u.test(externalId))
    throw new ServiceError(
      'BAD_USER_INPUT',
      'externalId must not contain control characters or unpaired surrogates',
    );
  return externalId;
}

export interface OnboardResult {
  userId: number;
  /** Shown once; only its hash is stored. */
  token: string;
}

const TOKEN_PREFIX = 'cg_';

/** Every user's first request asks it (prepared: parsed once per connection; `= ANY` is planned per call). */
const ACCESS_STATEMENT: NamedStatement = {
  name: 'cinegraph_user_access',
  text: `SELECT id, is_private, external_id FROM users WHERE id = ANY($1::int[])`,
};

/**
 * The same for one user, what almost every request's batch holds: PostgreSQL keeps a generic plan
 * for `id = $1` after five calls, where the array's custom plan was made each call (0.10 ms of its
 * 0.20 a call, pg_stat_statements over 2,000 first HYBRID lists at 25M).
 */
const ONE_USER_ACCESS_STATEMENT: NamedStatement = {
  name: 'cinegraph_one_user_access',
  text: `SELECT id, is_private, external_id FROM users WHERE id = $1::int`,
};

/**
 * Every request of an onboarded user runs it: prepared, PostgreSQL parses and plans it once per
 * connection, and the API thread skips TypeORM's query runner.
 */
const TOKEN_USER_STATEMENT: NamedStatement = {
  name: 'cinegraph_token_user',
  text: `SELECT id FROM users WHERE token_hash = $1`,
};

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface UserAccess {
  id: number;
  /** Onboarded and service-created users; imported MovieLens users are public demo profiles. */
  isPrivate: boolean;
  externalId: string | null;
}

export class UserService {
  private readonly known: VersionedCache<number, UserAccess>;
  /** External id → user id: users are never deleted and an external id never changes hands. */
  private readonly byExternalId = new VersionedCache<string, number>({ max: 100_000 });

  constructor(
    private readonly db: DataSource,
    private readonly ratings: RatingService,
    private readonly keys: ServiceKeyStore = new ServiceKeyStore(db),
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
        `INSERT INTO users (token_hash, is_private) VALUES ($1, true) RETURNING id`,
        [hashToken(token)],
      );
      return { userId: user.id, version: await this.ratings.insertInitial(tx, user.id, ratings) };
    });
    await this.ratings.notify(userId, version);
    return { userId, token };
  }

  /**
   * Who the Authorization header names: an end user (token from onboard or rotateToken) or a live
   * service key; null when there is no header. One indexed read (a key's is remembered briefly,
   * see ServiceKeyStore). UNAUTHENTICATED for a malformed, unknown or revoked credential.
   */
  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    const credential = match?.[1] ?? '';
    if (credential.startsWith(SERVICE_KEY_PREFIX)) {
      const key = await this.keys.authenticate(credential);
      if (!key) throw new ServiceError('UNAUTHENTICATED', 'unknown or revoked service key');
      return { kind: 'service', ...key };
    }
    if (!credential.startsWith(TOKEN_PREFIX))
      throw new ServiceError(
        'UNAUTHENTICATED',
        'Authorization must be "Bearer <token>" with a token from onboard or rotateToken, or a service key',
      );
    const rows = await queryNamed<{ id: number }>(this.db, TOKEN_USER_STATEMENT, [hashToken(credential)]);
    if (rows.length === 0) throw new ServiceError('UNAUTHENTICATED', 'unknown or revoked token');
    return { kind: 'user', userId: rows[0].id };
  }

  /**
   * The user with this external id, created (private, without ratings or a token) when there is
   * none; the same user however often it is called, also when two calls race.
   */
  async upsertByExternalId(externalId: string): Promise<{ userId: number; created: boolean }> {
    checkExternalId(externalId);
    const inserted: { id: number }[] = await this.db.query(
      `INSERT INTO users (external_id, is_private) VALUES ($1, true)
         ON CONFLICT (external_id) WHERE external_id IS NOT NULL DO NOTHING RETURNING id`,
      [externalId],
    );
    if (inserted.length > 0) {
      this.byExternalId.set(externalId, inserted[0].id, 0);
      return { userId: inserted[0].id, created: true };
    }
    const userId = await this.findByExternalId(externalId);
    if (userId === null)
      throw new Error(`external id ${JSON.stringify(externalId)} conflicted but is not there`);
    return { userId, created: false };
  }

  /** The id of the user with this external id; null when there is none. */
  async findByExternalId(externalId: string): Promise<number | null> {
    checkExternalId(externalId);
    const known = this.byExternalId.get(externalId, 0);
    if (known !== undefined) return known;
    const rows: { id: number }[] = await this.db.query(`SELECT id FROM users WHERE external_id = $1`, [
      externalId,
    ]);
    if (rows.length === 0) return null;
    this.byExternalId.set(externalId, rows[0].id, 0);
    return rows[0].id;
  }

  /** A new token for the user, replacing (and so invalidating) any token they had; shown once. */
  async rotateToken(userId: number): Promise<string> {
    for (;;) {
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      try {
        const rows: { id: number }[] = await this.db.query(
          `WITH changed AS (UPDATE users SET token_hash = $2 WHERE id = $1 RETURNING id) SELECT id FROM changed`,
          [userId, hashToken(token)],
        );
        if (rows.length === 0) throw new ServiceError('NOT_FOUND', `unknown user id ${userId}`);
        return token;
      } catch (error) {
        // 256 random bits collide with another user's token only in theory; draw again if so.
        if (errorCode(error) !== '23505') throw error;
      }
    }
  }

  /** Drops the user's token (it fails from the next request on); false when they had none. */
  async revokeToken(userId: number): Promise<boolean> {
    const rows: { id: number }[] = await this.db.query(
      `WITH changed AS (UPDATE users SET token_hash = NULL WHERE id = $1 AND token_hash IS NOT NULL RETURNING id)
       SELECT id FROM changed`,
      [userId],
    );
    return rows.length > 0;
  }

  /**
   * What another read of the users row found (their history's statement reads it too): the next
   * `existing` for them is answered from memory.
   */
  remember(access: UserAccess): void {
    this.known.set(access.id, access, 0, { catalog: this.known.catalog() });
  }

  /**
   * Which of these users exist, whether each is private, and their external id. Found users are
   * remembered: every read of a user's data asks, users
   * are never deleted and neither flag nor external id changes; an id not found is asked again.
   */
  async existing(userIds: readonly number[]): Promise<Map<number, UserAccess>> {
    const found = await readMany(userIds, this.known, 0, async (ids) => {
      const rows = await queryNamed<{ id: number; is_private: boolean; external_id: string | null }>(
        this.db,
        ids.length === 1 ? ONE_USER_ACCESS_STATEMENT : ACCESS_STATEMENT,
        ids.length === 1 ? [ids[0]] : [ids],
      );
      return rows.map((row) => ({ id: row.id, isPrivate: row.is_private, externalId: row.external_id }));
    });
    return new Map(found.map((access) => [access.id, access]));
  }
}
