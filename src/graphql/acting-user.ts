import type { Scope, ServiceKeyPrincipal } from '../services/service-keys';
import { checkExternalId } from '../services/user-service';
import { canRead, GraphQLContext } from './context';
import { clientError } from './errors';

/** How a field names a user: by our id or by the integrator's external id, never both. */
export interface UserSelector {
  userId?: number | null;
  externalId?: string | null;
}

/**
 * The service key the request was made with, holding `scope`; otherwise UNAUTHENTICATED (no
 * credential) or FORBIDDEN (an end-user token, or a key without the scope; `extensions.scope`).
 */
export async function requireScope(context: GraphQLContext, scope: Scope): Promise<ServiceKeyPrincipal> {
  const principal = await context.principal();
  if (!principal) throw clientError('UNAUTHENTICATED', `this needs a service key with the ${scope} scope`);
  if (principal.kind !== 'service' || !principal.scopes.has(scope))
    throw clientError(
      'FORBIDDEN',
      principal.kind === 'service'
        ? `service key "${principal.name}" lacks the ${scope} scope`
        : `this needs a service key with the ${scope} scope, not an end-user token`,
      { scope },
    );
  return principal;
}

function selected(selector: UserSelector): { userId: number } | { externalId: string } | null {
  const { userId, externalId } = selector;
  if (userId != null && externalId != null)
    throw clientError('BAD_USER_INPUT', 'give userId or externalId, not both', {
      argument: 'externalId',
    });
  if (userId != null) return { userId };
  if (externalId != null) return { externalId: checkExternalId(externalId) };
  return null;
}

/**
 * The id of the user a field acts for, checked against who is asking; every field that takes a
 * user (`userId` or `externalId`) goes through here.
 *
 * - A service key acts for any user it names (it must name one), given the scope: `read` to read
 *   their data (private users included), `write` to act for them. FORBIDDEN without the scope.
 * - An end-user token acts only for its own user: for `write` it may name nobody (itself) or
 *   itself; naming anybody else is FORBIDDEN, whether or not they exist. For `read` it names the
 *   user and reads itself or public demo profiles.
 * - Without a credential, `write` is UNAUTHENTICATED and `read` reaches public demo profiles only.
 *
 * Both selectors → BAD_USER_INPUT; a malformed external id → BAD_USER_INPUT; a user that does not
 * exist, or that the caller may not read, → NOT_FOUND (the two look alike, so ids cannot be probed).
 */
export async function resolveActingUser(
  context: GraphQLContext,
  selector: UserSelector,
  access: 'read' | 'write',
): Promise<number> {
  const target = selected(selector);
  const principal = await context.principal();
  if (principal?.kind === 'service') {
    await requireScope(context, access);
    if (!target) throw clientError('BAD_USER_INPUT', 'a service key names the user: userId or externalId');
    const userId = await idOf(context, target);
    if (userId === null || !(await context.loaders.user.load(userId))) throw notFound(target);
    return userId;
  }
  if (access === 'write') {
    if (!principal) throw clientError('UNAUTHENTICATED', 'this needs a bearer token or a service key');
    if (!target) return principal.userId;
    // No lookup for someone else's id: the answer must not depend on whether they exist.
    const userId =
      'userId' in target ? target.userId : await context.services.users.findByExternalId(target.externalId);
    if (userId !== principal.userId)
      throw clientError('FORBIDDEN', 'an end-user token acts only for its own user');
    return userId;
  }
  const userId = await findReadableUser(context, selector);
  if (userId === null) throw notFound(target);
  return userId;
}

/**
 * For fields that read the named user's ratings whatever they return (their lists): the ratings
 * are read before the access check, and the statement that reads them reads the users row too,
 * so the check that follows needs no round trip of its own (one of the two every first list made).
 * Only the check decides what is answered: a private user's ratings read here stay in the
 * server's cache and reach nobody who may not read them. Without a history the engines share
 * (services.history null), reading ahead would be a read of its own, so nothing is.
 */
export async function readRatingsBeforeAccess(
  context: GraphQLContext,
  selector: UserSelector,
): Promise<void> {
  const { userId, externalId } = selector;
  const { history, users } = context.services;
  // Neither or both selectors: resolveActingUser says which.
  if (!history || (userId == null) === (externalId == null)) return;
  const id = userId ?? (await users.findByExternalId(externalId as string));
  if (id === null) return;
  const { owner } = await history.historyOf(id);
  if (owner) users.remember({ id, ...owner });
}

/**
 * The user named, when the caller may read them (see canRead); null when unknown or private to
 * someone else. For fields that answer null rather than NOT_FOUND (`user`). A service key without
 * the `read` scope is FORBIDDEN; naming nobody is BAD_USER_INPUT.
 */
export async function findReadableUser(
  context: GraphQLContext,
  selector: UserSelector,
): Promise<number | null> {
  const target = selected(selector);
  const principal = await context.principal();
  if (principal?.kind === 'service') await requireScope(context, 'read');
  if (!target) throw clientError('BAD_USER_INPUT', 'name the user: userId or externalId');
  const userId = await idOf(context, target);
  return userId !== null && (await canRead(context, userId)) ? userId : null;
}

async function idOf(
  context: GraphQLContext,
  target: { userId: number } | { externalId: string },
): Promise<number | null> {
  return 'userId' in target ? target.userId : context.services.users.findByExternalId(target.externalId);
}

function notFound(target: { userId: number } | { externalId: string } | null) {
  return clientError(
    'NOT_FOUND',
    target && 'externalId' in target
      ? `unknown externalId ${JSON.stringify(target.externalId)}`
      : `unknown user id ${target?.userId}`,
  );
}

/** Argument descriptions shared by every field that takes a user. */
export const USER_ARGUMENT_DOCS = {
  readUserId:
    'The user by id; give userId or externalId, exactly one (both or neither: BAD_USER_INPUT). ' +
    'Private users (onboarded, or created by a service key) are readable with their own token or a ' +
    'service key with the read scope (without it: FORBIDDEN); to anybody else they are NOT_FOUND, ' +
    'like an unknown id.',
  readExternalId:
    'The user by the integrator’s id (see upsertUser): 1–256 characters, no control characters ' +
    '(else BAD_USER_INPUT); unknown: NOT_FOUND.',
  writeUserId:
    'Whom to act for, by id; omit both userId and externalId to act as the bearer token’s user. An ' +
    'end-user token may name only its own user (anybody else: FORBIDDEN); a service key must name ' +
    'the user (BAD_USER_INPUT otherwise) and hold the write scope (FORBIDDEN otherwise); an unknown ' +
    'user is NOT_FOUND. Both userId and externalId: BAD_USER_INPUT.',
  writeExternalId:
    'Whom to act for, by the integrator’s id (1–256 characters, no control characters, else ' +
    'BAD_USER_INPUT); the same rules as userId.',
} as const;
