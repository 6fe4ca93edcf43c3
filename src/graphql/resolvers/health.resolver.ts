import { Field, ObjectType, Query, Resolver } from 'type-graphql';
import { version } from '../../../package.json';

@ObjectType({ simpleResolvers: true })
export class Health {
  @Field()
  ok: boolean;

  @Field()
  version: string;
}

@Resolver()
export class HealthResolver {
  @Query(() => Health, { description: 'Liveness: answers when the API and its database are up.' })
  health(): Health {
    return { ok: true, version };
  }
}
