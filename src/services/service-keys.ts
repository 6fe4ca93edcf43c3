import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { errorCode } from '../db/errors';
import { CacheCounts, VersionedCache } from '../cache';
import { ServiceError } from './errors';

/**
 * What a service key may do. They do not imply one another: `read` reads any user's data (private
 * ones included), `write` rates and records feedback for any user and creates users, `admin` manages
 * what is shared by everybody (e.g. experiment definitions).
 */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Recognisable in logs and secret scanners, and distinct from end-user tokens (`cg_`). */
export const SERVICE_KEY_PREFIX = 'cgk_';

/** A letter first, so `revoke <id|name>` can tell an id from a name. */
const KEY_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

export interface ServiceKey {
  id: number;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  revokedAt: Date | null;
}

/** A live key, as a request acts with it. */
export interface ServiceKeyPrincipal {
  keyId: number;
  name: string;
  scopes: ReadonlySet<Scope>;
}

export interface IssuedKey {
  key: ServiceKey;
  /** Shown once; only its hash is stored. */
  secret: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function checkKeyName(name: string): string {
  if (!KEY_NAME.test(name))
    throw new ServiceError(
      'BAD_USER_INPUT',
      `a key name is 1–64 letters, digits, ".", "_" or "-", starting with a letter; got "${name}"`,
    );
  return name;
}

/** "read,write" → ['read', 'write']; unknown, empty or repeated scopes are refused. */
export function parseScopes(text: string): Scope[] {
  const parts = text.split(',').map((part) => part.trim());
  const unknown = parts.filter((part) => !(SCOPES as readonly string[]).includes(part));
  if (parts.length === 0 || unknown.length > 0)
    throw new ServiceError(
      'BAD_USER_INPUT',
      `scopes are a comma-separated list of ${SCOPES.join(', ')}; got "${text}"`,
    );
  if (new Set(parts).size !== parts.length)
    throw new ServiceError('BAD_USER_INPUT', `a scope is repeated in "${text}"`);
  return SCOPES.filter((scope) => parts.includes(scope));
}

interface KeyRow {
  id: number;
  name: string;
  scopes: string[];
  created_at: Date;
  revoked_at: Date | null;
}

function toKey(row: KeyRow): ServiceKey {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as Scope[],
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

const COLUMNS = `id, name, scopes, created_at, revoked_at`;

/**
 * Service keys: created, listed, revoked and rotated by `npm run keys`, checked on every request
 * that sends one. A live key's lookup is remembered for `cacheMs`, so a busy integration costs one
 * indexed read per key and `cacheMs` rather than one per request; the price is that a key revoked
 * by another process (the CLI beside a running server on PostgreSQL) keeps working on that server
 * for up to `cacheMs`. A key revoked through this instance fails at once. Unknown keys are never
 * remembered: a key created a moment ago must work on its first request.
 */
export class ServiceKeyStore {
  private readonly live: VersionedCache<string, ServiceKeyPrincipal>;
  private readonly inFlight = new Map<string, Promise<ServiceKeyPrincipal | null>>();
  /** Keys revoked here while a lookup of them was in flight: that lookup must not cache them. */
  private readonly revokedMeanwhile = new Set<string>();

  constructor(
    private readonly db: DataSource,
    private readonly options: { cacheMs: number } = { cacheMs: 0 },
  ) {
    // A key carries no version another instance could announce (revocation is rare and by CLI):
    // rule 3 of the freshness rule, an age, bounds how long a revoked key lives on elsewhere.
    this.live = new VersionedCache({ max: 10_000, maxAgeMs: Math.max(options.cacheMs, 1) });
  }

  get cacheCounts(): CacheCounts {
    return this.live.counts;
  }

  async create(name: string, scopes: readonly Scope[]): Promise<IssuedKey> {
    checkKeyName(name);
    if (scopes.length === 0) throw new ServiceError('BAD_USER_INPUT', 'a key needs at least one scope');
    const secret = SERVICE_KEY_PREFIX + randomBytes(32).toString('base64url');
    try {
      const [row]: KeyRow[] = await this.db.query(
        `INSERT INTO service_keys (name, key_hash, scopes) VALUES ($1, $2, $3::text[]) RETURNING ${COLUMNS}`,
        [name, hashSecret(secret), scopes],
      );
      return { key: toKey(row), secret };
    } catch (error) {
      if (errorCode(error) === '23505')
        throw new ServiceError(
          'BAD_USER_INPUT',
          `a live key is already named "${name}": revoke or rotate it`,
        );
      throw error;
    }
  }

  /** Every key, live and revoked, oldest first. */
  async list(): Promise<ServiceKey[]> {
    const rows: KeyRow[] = await this.db.query(`SELECT ${COLUMNS} FROM service_keys ORDER BY id`);
    return rows.map(toKey);
  }

  /** Revokes the live key with this id or name; NOT_FOUND when there is none. */
  async revoke(idOrName: string): Promise<ServiceKey> {
    const { where, value } = this.matches(idOrName);
    const rows: KeyRow[] = await this.db.query(
      // Through a CTE: TypeORM answers a bare UPDATE with [rows, count] rather than the rows.
      `WITH revoked AS (UPDATE service_keys SET revoked_at = now()
        WHERE revoked_at IS NULL AND ${where} RETURNING ${COLUMNS}, key_hash) SELECT * FROM revoked`,
      [value],
    );
    if (rows.length === 0) throw this.noLiveKey(idOrName);
    this.forget(rows[0] as KeyRow & { key_hash: string });
    return toKey(rows[0]);
  }

  /** A new key with the same name and scopes, and the old one revoked, in one transaction. */
  async rotate(idOrName: string): Promise<IssuedKey> {
    const secret = SERVICE_KEY_PREFIX + randomBytes(32).toString('base64url');
    const { where, value } = this.matches(idOrName);
    const { old, row } = await this.db.transaction(async (tx) => {
      const revoked: (KeyRow & { key_hash: string })[] = await tx.query(
        `WITH revoked AS (UPDATE service_keys SET revoked_at = now()
          WHERE revoked_at IS NULL AND ${where} RETURNING ${COLUMNS}, key_hash) SELECT * FROM revoked`,
        [value],
      );
      if (revoked.length === 0) throw this.noLiveKey(idOrName);
      const [created]: KeyRow[] = await tx.query(
        `INSERT INTO service_keys (name, key_hash, scopes) VALUES ($1, $2, $3::text[]) RETURNING ${COLUMNS}`,
        [revoked[0].name, hashSecret(secret), revoked[0].scopes],
      );
      return { old: revoked[0], row: created };
    });
    this.forget(old);
    return { key: toKey(row), secret };
  }

  /**
   * The live key this secret is; null when it has the key prefix but is unknown or revoked. Past
   * `cacheMs` the key is looked up again (one indexed read).
   */
  async authenticate(secret: string): Promise<ServiceKeyPrincipal | null> {
    const hash = hashSecret(secret);
    if (this.options.cacheMs > 0) {
      const cached = this.live.get(hash, 0);
      if (cached) return cached;
    }
    // The rate limiter and the request's context ask about the same key at the same moment.
    let lookup = this.inFlight.get(hash);
    if (!lookup) {
      lookup = this.lookUp(hash).finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, lookup);
    }
    return lookup;
  }

  private async lookUp(hash: string): Promise<ServiceKeyPrincipal | null> {
    const rows: { id: number; name: string; scopes: string[] }[] = await this.db.query(
      `SELECT id, name, scopes FROM service_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    if (rows.length === 0) return null;
    const principal: ServiceKeyPrincipal = {
      keyId: rows[0].id,
      name: rows[0].name,
      scopes: new Set(rows[0].scopes as Scope[]),
    };
    if (this.options.cacheMs > 0 && !this.revokedMeanwhile.has(hash)) this.live.set(hash, principal, 0);
    return principal;
  }

  /** All digits is an id (names start with a letter), anything else a name. */
  private matches(idOrName: string): { where: string; value: string | number } {
    return /^[0-9]{1,9}$/.test(idOrName)
      ? { where: 'id = $1', value: Number(idOrName) }
      : { where: 'name = $1', value: idOrName };
  }

  private noLiveKey(idOrName: string): ServiceError {
    return new ServiceError('NOT_FOUND', `no live key has the id or name "${idOrName}"`);
  }

  private forget(row: { key_hash: string }): void {
    this.live.delete(row.key_hash);
    const lookup = this.inFlight.get(row.key_hash);
    if (lookup) {
      this.revokedMeanwhile.add(row.key_hash);
      void lookup.finally(() => this.revokedMeanwhile.delete(row.key_hash)).catch(() => undefined);
    }
  }
}
