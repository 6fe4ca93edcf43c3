import { Field, Float, InputType, Int } from 'type-graphql';

@InputType({ description: 'One rating of a movie.' })
export class RatingInput {
  @Field(() => Int, { description: 'The movie rated (MovieLens id); NOT_FOUND when unknown.' })
  movieId: number;

  @Field(() => Float, { description: '0.5 to 5 in half steps; BAD_USER_INPUT otherwise.' })
  rating: number;
}
