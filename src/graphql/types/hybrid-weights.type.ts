import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum WeightsSourceEnum {
  DEFAULT = 'DEFAULT',
  CALIBRATED = 'CALIBRATED',
  REQUEST = 'REQUEST',
}

registerEnumType(WeightsSourceEnum, {
  name: 'WeightsSource',
  description: 'Where HYBRID’s engine weights come from.',
  valuesConfig: {
    DEFAULT: {
      description: 'The product’s specified weights: collaborative 0.5, content 0.3, statistical 0.2.',
    },
    CALIBRATED: {
      description:
        'Chosen by NDCG@10 on a validation split of the active model version’s training ratings (HYBRID_WEIGHTS=calibrated).',
    },
    REQUEST: { description: 'Sent with the request, missing ones filled from the weights in force.' },
  },
});

@ObjectType('HybridWeights', {
  simpleResolvers: true,
  description: 'The engine weights HYBRID merges with (summing to 1), and where they came from.',
})
export class HybridWeightsType {
  @Field(() => Float, { description: 'The collaborative engine’s share, 0 to 1.' })
  collaborative: number;

  @Field(() => Float, { description: 'The content engine’s share, 0 to 1.' })
  content: number;

  @Field(() => Float, { description: 'The statistical engine’s share, 0 to 1.' })
  statistical: number;

  @Field(() => WeightsSourceEnum, { description: 'Where the weights come from.' })
  source: WeightsSourceEnum;

  @Field(() => Float, {
    nullable: true,
    description:
      'NDCG@10 of the hybrid with these weights on the training-time validation split; null when not measured.',
  })
  validationNdcg10: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'NDCG@10 of the specified default weights on the same split, for comparison.',
  })
  defaultValidationNdcg10: number | null;

  @Field(() => String, {
    nullable: true,
    description: '"temporal" (each user’s latest ratings) or "random": how the validation split was carved.',
  })
  validationScheme: string | null;

  @Field(() => Int, { nullable: true, description: 'The active collaborative model version.' })
  modelVersion: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why the defaults are in force although calibrated weights were asked for.',
  })
  note: string | null;
}
