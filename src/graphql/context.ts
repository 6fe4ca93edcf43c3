import { Services } from '../services';
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
 * profiles anybody may read.
 */
export async function assertCanRead(context: GraphQLContext, userId: number): Promise<void> {
  const user = await context.loaders.user.load(userId);
  if (!user) throw clientError('NOT_FOUND', `unknown user id ${userId}`);
  if (!user.hasToken) return;
  const viewer = await context.viewer();
  if (!viewer) throw clientError('UNAUTHENTICATED', `user ${userId} is private: send their bearer token`);
  if (viewer.userId !== userId) throw clientError('FORBIDDEN', `you cannot read user ${userId}'s data`);
}
