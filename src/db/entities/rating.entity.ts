import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Movie } from './movie.entity';
import { User } from './user.entity';

@Entity({ name: 'ratings' })
@Index('ratings_movie_idx', ['movieId'])
export class Rating {
  /** (user_id, movie_id) is the primary key, which also serves per-user reads. */
  @PrimaryColumn({ name: 'user_id', type: 'integer' })
  userId: number;

  @PrimaryColumn({ name: 'movie_id', type: 'integer' })
  movieId: number;

  /** 0.5..5.0 in half steps, enforced by a CHECK constraint. */
  @Column({ type: 'real' })
  rating: number;

  @Column({ name: 'rated_at', type: 'timestamptz' })
  ratedAt: Date;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @ManyToOne(() => Movie, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'movie_id' })
  movie?: Movie;
}
