import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Movie } from './movie.entity';
import { User } from './user.entity';

@Entity({ name: 'tags' })
@Index('tags_movie_idx', ['movieId'])
export class Tag {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'user_id', type: 'integer' })
  userId: number;

  @Column({ name: 'movie_id', type: 'integer' })
  movieId: number;

  @Column({ type: 'text' })
  tag: string;

  @Column({ name: 'tagged_at', type: 'timestamptz' })
  taggedAt: Date;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @ManyToOne(() => Movie, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'movie_id' })
  movie?: Movie;
}
