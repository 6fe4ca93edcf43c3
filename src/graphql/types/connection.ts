import { Field, ObjectType } from 'type-graphql';
import { MAX_ID } from '../errors';
import { MovieType } from './movie.type';

@ObjectType({ simpleResolvers: true, description: 'Where a page ends, and whether another follows.' })
export class PageInfo {
  @Field({ description: 'Another page follows: ask again with after = endCursor.' })
  hasNextPage: boolean;

  @Field(() => String, { nullable: true, description: 'The last edge’s cursor; null on an empty page.' })
  endCursor: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A movie in a page of the catalog.' })
export class MovieEdge {
  @Field({ description: 'Opaque: pass it as `after` to continue after this movie.' })
  cursor: string;

  @Field(() => MovieType, { description: 'The movie.' })
  node: MovieType;
}

@ObjectType({ simpleResolvers: true, description: 'A page of movies.' })
export class MovieConnection {
  @Field(() => [MovieEdge], { description: 'The page’s movies, in id order.' })
  edges: MovieEdge[];

  @Field(() => PageInfo, { description: 'Where the page ends.' })
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
