import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('Movie', { simpleResolvers: true, description: 'A movie of the catalog (MovieLens id).' })
export class MovieType {
  @Field(() => Int, { description: 'The MovieLens movie id.' })
  id: number;

  @Field({ description: 'The title without the year, as MovieLens spells it.' })
  title: string;

  @Field(() => Int, { nullable: true, description: 'Release year, when the title carries one.' })
  year: number | null;

  @Field(() => [String], { description: 'MovieLens genres, e.g. "Comedy"; empty when none is listed.' })
  genres: string[];

  @Field(() => String, { nullable: true, description: 'Plot summary (TMDB), when imported.' })
  overview: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'IMDb id (digits, as MovieLens links it), when known.',
  })
  imdbId: string | null;

  @Field(() => Int, { nullable: true, description: 'TMDB id, when known.' })
  tmdbId: number | null;
}
