import { createHash } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';

/** Who a bearer token belongs to ("user:17"), null when it is unknown or malformed; throws when it cannot tell. */
export type TokenVerifier = (token: string) => Promise<string | null>;

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * The key a client is rate-limited under: its bearer token's user once the token is verified,
 * otherwise its IP address. A token that has not been verified yet counts against the IP (and is
 * verified in the background), so inventing a fresh token per request gains nothing: only a real
 * token earns a bucket of its own. Verdicts are remembered for a while (LRU, bounded), so a token
 * costs one database read per `ttlMs`, never one per request.
 */
export class ClientIdentities {
  private readonly verdicts: LRUCache<string, { key: string | null }>;
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly verify: TokenVerifier,
    options: { ttlMs?: number; max?: number } = {},
  ) {
    this.verdicts = new LRUCache({ max: options.max ?? 50_000, ttl: options.ttlMs ?? 60_000 });
  }

  /**
   * The key to charge; `verifyToken`, when present, starts the token's verification and is to be
   * called only once the request was admitted, so refused requests cost no database read.
   */
  identify(request: IncomingMessage): { key: string; verifyToken?: () => void } {
    const ip = `ip:${request.socket.remoteAddress ?? 'unknown'}`;
    const authorization = request.headers.authorization;
    const token = authorization ? BEARER.exec(authorization.trim())?.[1] : undefined;
    if (!token) return { key: ip };
    // Only the hash is kept in memory, like the users table keeps it.
    const digest = createHash('sha256').update(token).digest('base64url');
    const verdict = this.verdicts.get(digest);
    if (verdict) return { key: verdict.key ?? ip };
    const verifyToken = () => {
      if (this.pending.has(digest)) return;
      const check = this.verify(token).then(
        (key) => {
          this.verdicts.set(digest, { key });
        },
        () => undefined, // could not tell (database down): ask again next time
      );
      this.pending.set(digest, check);
      void check.finally(() => this.pending.delete(digest));
    };
    return { key: ip, verifyToken };
  }

  /** Resolves when the verifications started so far have finished (for tests). */
  async settled(): Promise<void> {
    await Promise.all(this.pending.values());
  }
}
