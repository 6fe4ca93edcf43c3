import type { ContentEngine } from '../engines/content';
import type { StatisticalEngine } from '../engines/statistical';
import type { ReadinessReport } from '../observability/readiness';
import type { Orchestrator } from '../orchestrator/orchestrator';
import type { RatingPredictor } from '../services';
import type { MovieCatalog } from '../services/movie-catalog';
import type { RatingService } from '../services/rating-service';
import type { UserService } from '../services/user-service';

/**
 * The application's services and engines, built once at start-up and shared by every request: what
 * the GraphQL layer sees. Defined here, above both, so src/services never depends on src/engines.
 */
export interface Services {
  catalog: MovieCatalog;
  ratings: RatingService;
  users: UserService;
  orchestrator: Orchestrator;
  statistical: StatisticalEngine;
  /** Null when the content engine is switched off. */
  content: ContentEngine | null;
  predictor: RatingPredictor | null;
  /** Database ping and engine readiness (the GraphQL `health` field); set by startApi. */
  readiness?: () => Promise<ReadinessReport>;
}
