import { Field, Float, Int, ObjectType } from 'type-graphql';
import { MovieType } from './movie.type';

@ObjectType({ simpleResolvers: true, description: 'A movie with a score from the engine that found it.' })
export class ScoredMovieType {
  movieId: number;

  @Field(() => MovieType, { description: 'The movie found.' })
  movie?: MovieType;

  @Field(() => Float, { description: 'Cosine similarity in [-1, 1] for similar movies and search.' })
  score: number;
}

@ObjectType({ simpleResolvers: true, description: 'Bayesian weighted rating with a confidence interval.' })
export class BayesianRatingType {
  @Field(() => Float, { description: 'WR = v/(v+m)·R + m/(v+m)·C.' })
  weighted: number;

  @Field(() => Float, { description: 'The plain mean R.' })
  mean: number;

  @Field(() => Int, { description: 'How many ratings (v).' })
  votes: number;

  @Field(() => Float, { description: 'Lower bound of the ~95% interval (normal approximation).' })
  lower: number;

  @Field(() => Float, { description: 'Upper bound of the ~95% interval (normal approximation).' })
  upper: number;
}

@ObjectType({ simpleResolvers: true, description: 'A movie ranked by its ratings inside a recent window.' })
export class TrendingMovieType {
  movieId: number;

  @Field(() => MovieType, { description: 'The movie ranked.' })
  movie?: MovieType;

  @Field(() => Float, { description: 'The ranking key: the windowed Bayesian rating.' })
  score: number;

  @Field(() => Int, { description: 'Ratings inside the window.' })
  votes: number;

  @Field(() => Float, { description: 'Mean of the window’s ratings (decay-weighted when decay is on).' })
  mean: number;

  @Field(() => Float, { description: 'Lower bound of the window’s ~95% interval.' })
  lower: number;

  @Field(() => Float, { description: 'Upper bound of the window’s ~95% interval.' })
  upper: number;

  @Field({
    description:
      'The end of the window: when the answer was computed (up to TRENDING_CACHE_MAX_AGE_MS ago for ' +
      'a reused answer), or the newest rating for historical data.',
  })
  windowEnd: Date;
}
