import type { Services } from '../composition/services';
import { Principal, Viewer } from '../services/user-service';
import { clientError } from './errors';
import { createLoaders, Loaders } from './loaders';

export interface GraphQLContext {
  services: Services;
  loaders: Loaders;
  /**
   * Who the request acts as (an end user's token or a service key), resolved on first use and
   * once per request; rejects a malformed, unknown or revoked credential (UNAUTHENTICATED).
   */
  principal(): Promise<Principal | null>;
  /** The end user of a bearer token; null without one and for a service key. */
  viewer(): Promise<Viewer | null>;
}

export function createContext(services: Services, authorization?: string): GraphQLContext {
  let resolved: Promise<Principal | null> | null = null;
  const principal = () => (resolved ??= services.users.authenticate(authorization));
  const viewer = async (): Promise<Viewer | null> => {
    const who = await principal();
    return who?.kind === 'user' ? { userId: who.userId } : null;
  };
  return { services, loaders: createLoaders(services, viewer), principal, viewer };
}

export async function requireViewer(context: GraphQLContext): Promise<Viewer> {
  const viewer = await context.viewer();
  if (!viewer) throw clientError('UNAUTHENTICATED', 'this needs the bearer token onboard returned');
  return viewer;
}

/**
 * Onboarded users and users created by a service key are private: readable with their own token or
 * a service key holding the `read` scope. Imported MovieLens users are public demo profiles anybody
 * may read. A user the caller may not read is indistinguishable from one that does not exist, so
 * ids cannot be probed for which private users exist.
 */
export async function canRead(context: GraphQLContext, userId: number): Promise<boolean> {
  const user = await context.loaders.user.load(userId);
  if (!user) return false;
  if (!user.isPrivate) return true;
  const principal = await context.principal();
  if (principal?.kind === 'service') return principal.scopes.has('read');
  return principal?.userId === userId;
}

/** NOT_FOUND, the same for an unknown user and another user's private one (see canRead). */
export async function assertCanRead(context: GraphQLContext, userId: number): Promise<void> {
  if (!(await canRead(context, userId))) throw clientError('NOT_FOUND', `unknown user id ${userId}`);
}
