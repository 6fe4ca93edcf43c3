import { Ctx, Field, Float, ObjectType, Query, Resolver } from 'type-graphql';
import { version } from '../../../package.json';
import { GraphQLContext } from '../context';

@ObjectType({ simpleResolvers: true, description: 'One recommendation engine’s readiness.' })
export class EngineHealth {
  @Field({ description: '"collaborative", "content" or "statistical".' })
  name: string;

  @Field({ description: 'It can answer now.' })
  ready: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Why it cannot answer yet ("training the first model").',
  })
  reason: string | null;

  @Field(() => Float, { nullable: true, description: 'Progress of what it is building, 0..1, when known.' })
  progress: number | null;
}

@ObjectType({ simpleResolvers: true, description: 'Whether the service can answer, and why not.' })
export class Health {
  @Field({ description: 'The service can answer: the database answers and at least one engine can serve.' })
  ok: boolean;

  @Field(() => String, { nullable: true, description: 'Why not, when ok is false.' })
  reason: string | null;

  @Field({ description: 'The server’s version (package.json).' })
  version: string;

  @Field(() => [EngineHealth], { description: 'Every configured engine, ready or not.' })
  engines: EngineHealth[];
}

@Resolver()
export class HealthResolver {
  @Query(() => Health, {
    description:
      'Readiness, as /readyz: ok when the database answers a ping and an engine can serve; engines still building are listed. Answers (ok false) rather than failing when the service is not ready.',
  })
  async health(@Ctx() { services }: GraphQLContext): Promise<Health> {
    const report = await services.readiness?.();
    return {
      ok: report?.ready ?? true,
      reason: report?.reason ?? null,
      version,
      engines: Object.entries(report?.engines ?? {}).map(([name, status]) => ({
        name,
        ready: status.ready,
        reason: status.ready ? null : status.reason,
        progress: status.ready ? null : (status.progress ?? null),
      })),
    };
  }
}
