export { refreshRatingStats } from './aggregates';
export type { RefreshSummary } from './aggregates';
export type {
  RankBy,
  RankingOptions,
  StatisticalEngineOptions,
  TrendingOptions,
  AsOfSource,
} from './options';
export { StatisticalEngine } from './statistical-engine';
export type {
  BayesianRating,
  GlobalRatingStats,
  PriorSummary,
  RankedMovie,
  StatisticalEngineDescription,
  TopRatedResult,
  TrendingMovie,
  TrendingResult,
} from './statistical-engine';
