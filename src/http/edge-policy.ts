import { ServiceError } from '../services/errors';
import { UserService } from '../services/user-service';

/**
 * Brackets ({ [ () may nest at most this deep in a query text, checked before parsing. A field
 * within MAX_QUERY_DEPTH opens one brace per level; an inline fragment, arguments or an input
 * object around a level add a few more, so four per level never refuses a query the depth limit
 * would accept, and still keeps a recursive parser far from the stack's end (5 000 nested input
 * objects fit in the default 100 KB body).
 */
export function queryNestingCap(maxDepth: number): number {
  return 4 * maxDepth;
}

/**
 * "user:<id>" for a valid end-user token, "key:<id>" for a live service key, null for an unknown
 * one; other failures propagate.
 */
export async function rateLimitIdentity(users: UserService, token: string): Promise<string | null> {
  try {
    const principal = await users.authenticate(`Bearer ${token}`);
    if (!principal) return null;
    return principal.kind === 'user' ? `user:${principal.userId}` : `key:${principal.keyId}`;
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'UNAUTHENTICATED') return null;
    throw error;
  }
}
