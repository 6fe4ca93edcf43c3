import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { resolveWeights } from '../../orchestrator/weights';
import { GraphQLContext } from '../context';
import { HybridWeightsType, WeightsSourceEnum } from '../types/hybrid-weights.type';
import { EngineWeightsInput } from '../types/recommendation-args';

@Resolver()
export class HybridWeightsResolver {
  @Query(() => HybridWeightsType, {
    description:
      'The weights HYBRID merges with when a request sends none (HYBRID_WEIGHTS), or, given `weights`, ' +
      'how a request sending them is weighted.',
  })
  hybridWeights(
    @Ctx() context: GraphQLContext,
    @Arg('weights', () => EngineWeightsInput, {
      nullable: true,
      description:
        'Weights a recommendations request would send; BAD_USER_INPUT for one outside 0 to 1000 or all zero.',
    })
    requested?: EngineWeightsInput | null,
  ): HybridWeightsType {
    const inForce = context.services.orchestrator.weightsInForce();
    const weights = requested ? resolveWeights(requested, undefined, inForce.weights) : inForce.weights;
    return {
      ...weights,
      source: requested ? WeightsSourceEnum.REQUEST : (inForce.source as WeightsSourceEnum),
      validationNdcg10: requested ? null : inForce.validationNdcg10,
      defaultValidationNdcg10: inForce.defaultValidationNdcg10,
      validationScheme: inForce.validationScheme,
      modelVersion: inForce.modelVersion,
      note: inForce.note,
    };
  }
}
