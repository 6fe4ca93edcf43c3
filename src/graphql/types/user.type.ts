import { Field, Float, Int, ObjectType } from 'type-graphql';
import { MovieType } from './movie.type';
import { PageInfo } from './connection';
import { RecommendationType } from './recommendation.type';

@ObjectType('User', { simpleResolvers: true })
export class UserType {
  @Field(() => Int)
  id: number;
}

@ObjectType('Rating', { simpleResolvers: true })
export class RatingType {
  userId: number;
  movieId: number;

  @Field(() => Float)
  rating: number;

  @Field()
  ratedAt: Date;

  @Field(() => MovieType, { description: 'Resolved through the request’s movie loader.' })
  movie?: MovieType;
}

@ObjectType({ simpleResolvers: true })
export class RatingEdge {
  @Field()
  cursor: string;

  @Field(() => RatingType)
  node: RatingType;
}

@ObjectType({ simpleResolvers: true })
export class RatingConnection {
  @Field(() => [RatingEdge])
  edges: RatingEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}

@ObjectType({ simpleResolvers: true })
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

@ObjectType({ simpleResolvers: true })
export class OnboardPayload {
  @Field(() => UserType)
  user: UserType;

  @Field({ description: 'Send as "Authorization: Bearer <token>"; it is shown only this once.' })
  token: string;

  @Field(() => [RecommendationType])
  recommendations: RecommendationType[];
}
