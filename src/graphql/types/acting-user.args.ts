import { ArgsType, Field, Int } from 'type-graphql';
import { USER_ARGUMENT_DOCS } from '../acting-user';

/** Whom a mutation acts for: `userId` or `externalId` (see resolveActingUser with 'write'). */
@ArgsType()
export class ActingUserArgs {
  @Field(() => Int, { nullable: true, description: USER_ARGUMENT_DOCS.writeUserId })
  userId?: number | null;

  @Field(() => String, { nullable: true, description: USER_ARGUMENT_DOCS.writeExternalId })
  externalId?: string | null;
}
