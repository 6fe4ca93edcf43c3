import { Field, ObjectType } from 'type-graphql';
import { MAX_ID } from '../errors';
import { MovieType } from './movie.type';

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

@ObjectType({ simpleResolvers: true })
export class MovieEdge {
  @Field()
  cursor: string;

  @Field(() => MovieType)
  node: MovieType;
}

@ObjectType({ simpleResolvers: true })
export class MovieConnection {
  @Field(() => [MovieEdge])
  edges: MovieEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}

/** Opaque cursors: clients must not build them, so the keyset can change without breaking them. */
export function encodeCursor(kind: string, id: number): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

export function decodeCursor(kind: string, cursor: string): number | null {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = new RegExp(`^${kind}:(\\d{1,10})$`).exec(text);
  const id = match ? Number(match[1]) : null;
  // Ids are PostgreSQL integers: a larger one cannot have been issued, and would fail in SQL.
  return id !== null && id <= MAX_ID ? id : null;
}
