import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'movies' })
export class Movie {
  /** The MovieLens movieId. */
  @PrimaryColumn({ type: 'integer' })
  id: number;

  /** Without the year, as MovieLens spells it ("Misérables, Les"). */
  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'integer', nullable: true })
  year: number | null;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  genres: string[];

  @Column({ name: 'imdb_id', type: 'text', nullable: true })
  imdbId: string | null;

  @Column({ name: 'tmdb_id', type: 'integer', nullable: true })
  tmdbId: number | null;

  @Column({ type: 'text', nullable: true })
  overview: string | null;
}
