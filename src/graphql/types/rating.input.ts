import { Field, Float, InputType, Int } from 'type-graphql';

@InputType()
export class RatingInput {
  @Field(() => Int)
  movieId: number;

  @Field(() => Float, { description: '0.5 to 5 in half steps.' })
  rating: number;
}
