export { MovieCatalog } from './movie-catalog';
export { RatingService } from './rating-service';
export { UserService } from './user-service';

/** Predicted ratings for one user, batched (the collaborative engine's rating model). */
export interface RatingPredictor {
  predictRatings(userId: number, movieIds: readonly number[]): Promise<Map<number, number>>;
}
