import type { Services } from '../composition/services';
import { Viewer } from '../services/user-service';
import { clientError } from './errors';
import { createLoaders, Loaders } from './loaders';

export interface GraphQLContext {
  services: Services;
  loaders: Loaders;
  /** The authenticated user, resolved on first use; rejects a malformed or unknown token. */
  viewer(): Promise<Viewer | null>;
}

export function createContext(services: Services, authorization?: string): GraphQLContext {
  let resolved: Promise<Viewer | null> | null = null;
  const viewer = () => (resolved ??= services.users.authenticate(authorization));
  return { services, loaders: createLoaders(services, viewer), viewer };
}

export async function requireViewer(context: GraphQLContext): Promise<Viewer> {
  const viewer = await context.viewer();
  if (!viewer) throw clientError('UNAUTHENTICATED', 'this needs the bearer token onboard returned');
  return viewer;
}

/**
 * Onboarded users' data is theirs alone; imported MovieLens users (no token) are public demo
 * profiles anybody may read. A user the viewer may not read is indistinguishable from one that does
 * not exist, so ids cannot be probed for which onboarded users exist.
 */
export async function canRead(context: GraphQLContext, userId: number): Promise<boolean> {
  const user = await context.loaders.user.load(userId);
  if (!user) return false;
  if (!user.hasToken) return true;
  const viewer = await context.viewer();
  return viewer?.userId === userId;
}

/** NOT_FOUND, the same for an unknown user and another user's private one (see canRead). */
export async function assertCanRead(context: GraphQLContext, userId: number): Promise<void> {
  if (!(await canRead(context, userId))) throw clientError('NOT_FOUND', `unknown user id ${userId}`);
}
