import type { ContentEngine } from '../engines/content';
import type { RatingHistorySource } from '../engines/rating-history';
import type { StatisticalEngine } from '../engines/statistical';
import type { ExperimentService } from '../experiments/experiment-service';
import type { ReadinessReport } from '../observability/readiness';
import type { Orchestrator } from '../orchestrator/orchestrator';
import type { RatingPredictor } from '../services';
import type { MovieCatalog } from '../services/movie-catalog';
import type { FeedbackService } from '../services/feedback-service';
import type { ListRecorder } from '../services/list-recorder';
import type { RatingService } from '../services/rating-service';
import type { ServiceKeyStore } from '../services/service-keys';
import type { UserService } from '../services/user-service';

/**
 * The application's services and engines, built once at start-up and shared by every request: what
 * the GraphQL layer sees. Defined here, above both, so src/services never depends on src/engines.
 */
export interface Services {
  catalog: MovieCatalog;
  ratings: RatingService;
  users: UserService;
  /** Service keys (npm run keys); requests authenticate through users.authenticate. */
  keys: ServiceKeyStore;
  orchestrator: Orchestrator;
  /**
   * The one source the orchestrator and every engine read users' ratings through (a cache, in a
   * server), so a read ahead of them is no extra round trip; null when each reads its own.
   */
  history: RatingHistorySource | null;
  /** Feedback events (recordEvents) and each user's dismissed movies. */
  feedback: FeedbackService;
  /** Served lists, written in batches off the request path; stop() writes what is left. */
  servedLists: ListRecorder;
  /** A/B experiments: definitions, the active one (held in memory for serving), reports. */
  experiments: ExperimentService;
  statistical: StatisticalEngine;
  /** Null when the content engine is switched off. */
  content: ContentEngine | null;
  predictor: RatingPredictor | null;
  /** Database ping and engine readiness (the GraphQL `health` field); set by startApi. */
  readiness?: () => Promise<ReadinessReport>;
}
