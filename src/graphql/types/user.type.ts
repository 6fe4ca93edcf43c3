import { Field, Float, Int, ObjectType } from 'type-graphql';
import { MovieType } from './movie.type';
import { PageInfo } from './connection';
import { RecommendationType } from './recommendation.type';

@ObjectType('User', {
  simpleResolvers: true,
  description:
    'Someone who rates movies: imported from MovieLens (public) or onboarded (private to their token).',
})
export class UserType {
  @Field(() => Int, { description: 'The user id.' })
  id: number;
}

@ObjectType('Rating', { simpleResolvers: true, description: 'A user’s rating of a movie.' })
export class RatingType {
  userId: number;
  movieId: number;

  @Field(() => Float, { description: '0.5 to 5 in half steps.' })
  rating: number;

  @Field({ description: 'When it was given (or last changed).' })
  ratedAt: Date;

  @Field(() => MovieType, { description: 'Resolved through the request’s movie loader.' })
  movie?: MovieType;
}

@ObjectType({ simpleResolvers: true, description: 'A rating in a page of a user’s ratings.' })
export class RatingEdge {
  @Field({ description: 'Opaque: pass it as `after` to continue after this rating.' })
  cursor: string;

  @Field(() => RatingType, { description: 'The rating.' })
  node: RatingType;
}

@ObjectType({ simpleResolvers: true, description: 'A page of a user’s ratings.' })
export class RatingConnection {
  @Field(() => [RatingEdge], { description: 'The page’s ratings, newest first.' })
  edges: RatingEdge[];

  @Field(() => PageInfo, { description: 'Where the page ends.' })
  pageInfo: PageInfo;
}

@ObjectType({ simpleResolvers: true, description: 'What rotateToken returns.' })
export class TokenPayload {
  @Field(() => UserType, { description: 'The user the new token acts for.' })
  user: UserType;

  @Field({
    description:
      'The user’s new bearer token ("Authorization: Bearer <token>"), shown only this once; the token ' +
      'they had before fails from now on (UNAUTHENTICATED).',
  })
  token: string;
}

@ObjectType({ simpleResolvers: true, description: 'What onboard returns.' })
export class OnboardPayload {
  @Field(() => UserType, { description: 'The new user.' })
  user: UserType;

  @Field({ description: 'Send as "Authorization: Bearer <token>"; it is shown only this once.' })
  token: string;

  @Field(() => [RecommendationType], { description: 'Their first recommendations (HYBRID, 20).' })
  recommendations: RecommendationType[];
}
