import { Orchestrator } from '../orchestrator/orchestrator';
import { MovieCatalog } from './movie-catalog';
import { RatingService } from './rating-service';
import { UserService } from './user-service';

/** The application's services, built once at start-up and shared by every request. */
export interface Services {
  catalog: MovieCatalog;
  ratings: RatingService;
  users: UserService;
  orchestrator: Orchestrator;
}
