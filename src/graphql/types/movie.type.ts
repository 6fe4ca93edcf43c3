import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('Movie', { simpleResolvers: true, description: 'A movie of the catalog (MovieLens id).' })
export class MovieType {
  @Field(() => Int)
  id: number;

  @Field({ description: 'The title without the year, as MovieLens spells it.' })
  title: string;

  @Field(() => Int, { nullable: true })
  year: number | null;

  @Field(() => [String])
  genres: string[];

  @Field(() => String, { nullable: true, description: 'Plot summary (TMDB), when imported.' })
  overview: string | null;

  @Field(() => String, { nullable: true })
  imdbId: string | null;

  @Field(() => Int, { nullable: true })
  tmdbId: number | null;
}
