import { registerEnumType } from 'type-graphql';

export enum StrategyEnum {
  HYBRID = 'HYBRID',
  COLLABORATIVE = 'COLLABORATIVE',
  CONTENT = 'CONTENT',
  STATISTICAL = 'STATISTICAL',
}

registerEnumType(StrategyEnum, {
  name: 'Strategy',
  description: 'Which engine ranks: users with fewer than 5 ratings always get STATISTICAL.',
  valuesConfig: {
    HYBRID: {
      description:
        'All three engines, normalised and weighted (default collaborative 0.5, content 0.3, statistical 0.2).',
    },
    COLLABORATIVE: { description: 'Matrix factorisation over everyone’s ratings.' },
    CONTENT: { description: 'Sentence embeddings of movie text, against your taste profile.' },
    STATISTICAL: {
      description: 'Bayesian weighted rating × ln(1 + votes), the same for everyone: the cold-start engine.',
    },
  },
});
