import type { ContentEngine } from '../engines/content';
import type { StatisticalEngine } from '../engines/statistical';
import type { ReadinessReport } from '../observability/readiness';
import { Orchestrator } from '../orchestrator/orchestrator';
import type { ExperimentService } from '../experiments/experiment-service';
import { FeedbackService } from './feedback-service';
import { ListRecorder } from './list-recorder';
import { MovieCatalog } from './movie-catalog';
import { RatingService } from './rating-service';
import { UserService } from './user-service';

/** Predicted ratings for one user, batched (the collaborative engine's rating model). */
export interface RatingPredictor {
  predictRatings(userId: number, movieIds: readonly number[]): Promise<Map<number, number>>;
}

/** The application's services, built once at start-up and shared by every request. */
export interface Services {
  catalog: MovieCatalog;
  ratings: RatingService;
  users: UserService;
  orchestrator: Orchestrator;
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
