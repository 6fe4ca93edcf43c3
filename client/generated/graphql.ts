/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocument } from '../document.js';
/** Relative engine weights; missing ones keep the weights in force (the specified collaborative 0.5, content 0.3, statistical 0.2 unless HYBRID_WEIGHTS=calibrated; see hybridWeights), then all are rescaled to sum 1. BAD_USER_INPUT for a weight outside 0 to 1000 or all of them zero. */
export type EngineWeightsInput = {
  /** The collaborative engine’s weight, 0 to 1000. */
  collaborative?: number | null | undefined;
  /** The content engine’s weight, 0 to 1000. */
  content?: number | null | undefined;
  /** The statistical engine’s weight, 0 to 1000. */
  statistical?: number | null | undefined;
};

/** One feedback event. */
export type EventInput = {
  /** When it happened (default: now); at most 5 minutes ahead of the server's clock. */
  at?: string | null | undefined;
  /** The client's id for this event, unique per user (1–128 characters): an event sent again with the same id is counted once, so a batch may be retried safely. */
  clientEventId: string;
  /** The listId of the recommendation list that showed the movie, if one did. */
  listId?: string | number | null | undefined;
  /** The movie; unknown ids are refused (NOT_FOUND). */
  movieId: number;
  /** What happened. */
  type: FeedbackEventType;
  /** WATCH only: the fraction watched, 0 to 1. */
  value?: number | null | undefined;
};

/** Whether an experiment still assigns users. */
export const ExperimentStatus = {
  /** Assigning users and shaping their lists (at most one experiment at a time). */
  Active: 'ACTIVE',
  /** Stopped for good: lists no longer follow it; its report stays. */
  Stopped: 'STOPPED'
} as const;

export type ExperimentStatus = typeof ExperimentStatus[keyof typeof ExperimentStatus];
/** What the user did with a movie. */
export const FeedbackEventType = {
  /** The user opened the movie. */
  Click: 'CLICK',
  /** The movie was shown (in a list, on screen). */
  Impression: 'IMPRESSION',
  /** Never recommend this movie to this user again (takes effect at once). */
  NotInterested: 'NOT_INTERESTED',
  /** The user watched it; `value` is the fraction watched. 0.8 or more counts as liking it when the collaborative model is trained. */
  Watch: 'WATCH'
} as const;

export type FeedbackEventType = typeof FeedbackEventType[keyof typeof FeedbackEventType];
/** All given conditions must hold. BAD_USER_INPUT for a value outside the stated bounds. */
export type MovieFilterInput = {
  /** Movies having this genre among theirs; 1 to 64 characters. */
  genre?: string | null | undefined;
  /** Case-insensitive substring of the title; 1 to 200 characters. */
  titleContains?: string | null | undefined;
  /** Released in this year or later; 1870 to 2100. */
  yearFrom?: number | null | undefined;
  /** Released in this year or earlier; 1870 to 2100. */
  yearTo?: number | null | undefined;
};

/** One rating of a movie. */
export type RatingInput = {
  /** The movie rated (MovieLens id); NOT_FOUND when unknown. */
  movieId: number;
  /** 0.5 to 5 in half steps; BAD_USER_INPUT otherwise. */
  rating: number;
};

/** Which engine ranks: users with fewer than 5 ratings always get STATISTICAL. */
export const Strategy = {
  /** Matrix factorisation over everyone’s ratings. */
  Collaborative: 'COLLABORATIVE',
  /** Sentence embeddings of movie text, against your taste profile. */
  Content: 'CONTENT',
  /** All three engines, normalised and weighted (default collaborative 0.5, content 0.3, statistical 0.2). */
  Hybrid: 'HYBRID',
  /** Bayesian weighted rating × ln(1 + votes), the same for everyone: the cold-start engine. */
  Statistical: 'STATISTICAL'
} as const;

export type Strategy = typeof Strategy[keyof typeof Strategy];
/** Where HYBRID’s engine weights come from. */
export const WeightsSource = {
  /** Chosen by NDCG@10 on a validation split of the active model version’s training ratings (HYBRID_WEIGHTS=calibrated). */
  Calibrated: 'CALIBRATED',
  /** The product’s specified weights: collaborative 0.5, content 0.3, statistical 0.2. */
  Default: 'DEFAULT',
  /** Sent with the request, missing ones filled from the weights in force. */
  Request: 'REQUEST'
} as const;

export type WeightsSource = typeof WeightsSource[keyof typeof WeightsSource];
export type OnboardMutationVariables = Exact<{
  ratings: Array<RatingInput> | RatingInput;
}>;


export type OnboardMutation = { onboard: { token: string, user: { id: number, ratingsCount: number }, recommendations: Array<{ rank: number, listId: string, experiment: string | null, variant: string | null, score: number, strategyUsed: Strategy, movie: { id: number, title: string, year: number | null, genres: Array<string> }, engineScores: { collaborative: number | null, content: number | null, statistical: number | null }, explanation: { text: string, basedOn: Array<{ id: number, title: string }> } }> } };

export type RateMutationVariables = Exact<{
  movieId: number;
  rating: number;
}>;


export type RateMutation = { rate: { rating: number, ratedAt: string, movie: { id: number, title: string } } };

export type RemoveRatingMutationVariables = Exact<{
  movieId: number;
}>;


export type RemoveRatingMutation = { removeRating: boolean };

export type MeQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type MeQuery = { me: { id: number, ratingsCount: number, ratings: { edges: Array<{ cursor: string, node: { rating: number, ratedAt: string, movie: { id: number, title: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } } | null };

export type MyRecommendationsQueryVariables = Exact<{
  strategy?: Strategy | null | undefined;
  first?: number | null | undefined;
  genres?: Array<string> | string | null | undefined;
  weights?: EngineWeightsInput | null | undefined;
  diversity?: number | null | undefined;
}>;


export type MyRecommendationsQuery = { me: { id: number, ratingsCount: number, recommendations: Array<{ rank: number, listId: string, experiment: string | null, variant: string | null, score: number, strategyUsed: Strategy, movie: { id: number, title: string, year: number | null, genres: Array<string> }, engineScores: { collaborative: number | null, content: number | null, statistical: number | null }, explanation: { text: string, basedOn: Array<{ id: number, title: string }> } }> } | null };

export type UserQueryVariables = Exact<{
  id: number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type UserQuery = { user: { id: number, ratingsCount: number, ratings: { edges: Array<{ cursor: string, node: { rating: number, ratedAt: string, movie: { id: number, title: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } } | null };

export type RatingPageFragment = { edges: Array<{ cursor: string, node: { rating: number, ratedAt: string, movie: { id: number, title: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } };

export type SimilarMoviesQueryVariables = Exact<{
  movieId: number;
  first?: number | null | undefined;
}>;


export type SimilarMoviesQuery = { similarMovies: Array<{ score: number, movie: { id: number, title: string, year: number | null } }> };

export type TrendingQueryVariables = Exact<{
  genre?: string | null | undefined;
  windowDays?: number | null | undefined;
  halfLifeDays?: number | null | undefined;
  first?: number | null | undefined;
}>;


export type TrendingQuery = { trending: Array<{ score: number, votes: number, mean: number, lower: number, upper: number, windowEnd: string, movie: { id: number, title: string, year: number | null } }> };

export type SearchQueryVariables = Exact<{
  query: string;
  first?: number | null | undefined;
  genres?: Array<string> | string | null | undefined;
}>;


export type SearchQuery = { search: Array<{ score: number, movie: { id: number, title: string, year: number | null, genres: Array<string> } }> };

export type ExperimentsQueryVariables = Exact<{ [key: string]: never; }>;


export type ExperimentsQuery = { experiments: Array<{ name: string, status: ExperimentStatus, control: string, createdAt: string, stoppedAt: string | null, variants: Array<{ name: string, strategy: Strategy, share: number, diversity: number | null, weights: { collaborative: number | null, content: number | null, statistical: number | null } | null }> }> };

export type ExperimentReportQueryVariables = Exact<{
  name: string;
  since?: string | null | undefined;
  until?: string | null | undefined;
}>;


export type ExperimentReportQuery = { experimentReport: { experiment: string, status: ExperimentStatus, control: string, since: string, until: string, markdown: string, variants: Array<{ variant: string, isControl: boolean, users: number, lists: number, impressions: number, clicks: number, watchedThrough: number, ctr: { value: number | null, ciLow: number | null, ciHigh: number | null, n: number, difference: number | null, differenceCiLow: number | null, differenceCiHigh: number | null, lift: number | null, pValue: number | null, pValueIid: number | null }, watchThrough: { value: number | null, ciLow: number | null, ciHigh: number | null, n: number, difference: number | null, differenceCiLow: number | null, differenceCiHigh: number | null, lift: number | null, pValue: number | null, pValueIid: number | null }, ndcg10: { value: number | null, ciLow: number | null, ciHigh: number | null, n: number, difference: number | null, differenceCiLow: number | null, differenceCiHigh: number | null, lift: number | null, pValue: number | null, pValueIid: number | null } }> } };

export type ExperimentMetricFieldsFragment = { value: number | null, ciLow: number | null, ciHigh: number | null, n: number, difference: number | null, differenceCiLow: number | null, differenceCiHigh: number | null, lift: number | null, pValue: number | null, pValueIid: number | null };

export type RecordEventsMutationVariables = Exact<{
  events: Array<EventInput> | EventInput;
  userId?: number | null | undefined;
  externalId?: string | null | undefined;
}>;


export type RecordEventsMutation = { recordEvents: { accepted: number, duplicates: number } };

export type UpsertUserMutationVariables = Exact<{
  externalId: string;
}>;


export type UpsertUserMutation = { upsertUser: { id: number, externalId: string | null, ratingsCount: number } };

export type RateForMutationVariables = Exact<{
  movieId: number;
  rating: number;
  userId?: number | null | undefined;
  externalId?: string | null | undefined;
}>;


export type RateForMutation = { rate: { rating: number, ratedAt: string, movie: { id: number, title: string } } };

export type RemoveRatingForMutationVariables = Exact<{
  movieId: number;
  userId?: number | null | undefined;
  externalId?: string | null | undefined;
}>;


export type RemoveRatingForMutation = { removeRating: boolean };

export type RotateTokenMutationVariables = Exact<{
  userId?: number | null | undefined;
  externalId?: string | null | undefined;
}>;


export type RotateTokenMutation = { rotateToken: { token: string, user: { id: number, externalId: string | null } } };

export type RevokeTokenMutationVariables = Exact<{
  userId?: number | null | undefined;
  externalId?: string | null | undefined;
}>;


export type RevokeTokenMutation = { revokeToken: boolean };

export type UserByExternalIdQueryVariables = Exact<{
  externalId: string;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type UserByExternalIdQuery = { user: { id: number, externalId: string | null, ratingsCount: number, ratings: { edges: Array<{ cursor: string, node: { rating: number, ratedAt: string, movie: { id: number, title: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } } | null };

export type RecommendationsForQueryVariables = Exact<{
  userId?: number | null | undefined;
  externalId?: string | null | undefined;
  strategy?: Strategy | null | undefined;
  first?: number | null | undefined;
  genres?: Array<string> | string | null | undefined;
  weights?: EngineWeightsInput | null | undefined;
  diversity?: number | null | undefined;
}>;


export type RecommendationsForQuery = { recommendations: Array<{ rank: number, listId: string, experiment: string | null, variant: string | null, score: number, strategyUsed: Strategy, movie: { id: number, title: string, year: number | null, genres: Array<string> }, engineScores: { collaborative: number | null, content: number | null, statistical: number | null }, explanation: { text: string, basedOn: Array<{ id: number, title: string }> } }> };

export type MoviesQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: MovieFilterInput | null | undefined;
}>;


export type MoviesQuery = { movies: { edges: Array<{ cursor: string, node: { id: number, title: string, year: number | null, genres: Array<string>, ratingsCount: number, averageRating: number | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type MovieQueryVariables = Exact<{
  id: number;
  similarFirst?: number | null | undefined;
}>;


export type MovieQuery = { movie: { overview: string | null, imdbId: string | null, tmdbId: number | null, predictedRating: number | null, id: number, title: string, year: number | null, genres: Array<string>, ratingsCount: number, averageRating: number | null, bayesianRating: { weighted: number, mean: number, votes: number, lower: number, upper: number } | null, similar: Array<{ score: number, movie: { id: number, title: string, year: number | null } }> } | null };

export type MovieSummaryFragment = { id: number, title: string, year: number | null, genres: Array<string>, ratingsCount: number, averageRating: number | null };

export type RecommendationsQueryVariables = Exact<{
  userId: number;
  strategy?: Strategy | null | undefined;
  first?: number | null | undefined;
  genres?: Array<string> | string | null | undefined;
  weights?: EngineWeightsInput | null | undefined;
  diversity?: number | null | undefined;
}>;


export type RecommendationsQuery = { recommendations: Array<{ rank: number, listId: string, experiment: string | null, variant: string | null, score: number, strategyUsed: Strategy, movie: { id: number, title: string, year: number | null, genres: Array<string> }, engineScores: { collaborative: number | null, content: number | null, statistical: number | null }, explanation: { text: string, basedOn: Array<{ id: number, title: string }> } }> };

export type RecommendationItemFragment = { rank: number, listId: string, experiment: string | null, variant: string | null, score: number, strategyUsed: Strategy, movie: { id: number, title: string, year: number | null, genres: Array<string> }, engineScores: { collaborative: number | null, content: number | null, statistical: number | null }, explanation: { text: string, basedOn: Array<{ id: number, title: string }> } };

export type HealthQueryVariables = Exact<{ [key: string]: never; }>;


export type HealthQuery = { health: { ok: boolean, reason: string | null, version: string, engines: Array<{ name: string, ready: boolean, reason: string | null, progress: number | null }> } };

export type HybridWeightsQueryVariables = Exact<{
  weights?: EngineWeightsInput | null | undefined;
}>;


export type HybridWeightsQuery = { hybridWeights: { collaborative: number, content: number, statistical: number, source: WeightsSource, validationNdcg10: number | null, defaultValidationNdcg10: number | null, validationScheme: string | null, modelVersion: number | null, note: string | null } };

export const OnboardDocument: TypedDocument<OnboardMutation, OnboardMutationVariables> = {
  operationName: 'Onboard',
  operationType: 'mutation',
  query: `mutation Onboard($ratings: [RatingInput!]!) {
  onboard(ratings: $ratings) {
    token
    user {
      id
      ratingsCount
    }
    recommendations {
      ...RecommendationItem
    }
  }
}

fragment RecommendationItem on Recommendation {
  rank
  listId
  experiment
  variant
  score
  strategyUsed
  movie {
    id
    title
    year
    genres
  }
  engineScores {
    collaborative
    content
    statistical
  }
  explanation {
    text
    basedOn {
      id
      title
    }
  }
}`,
};

export const RateDocument: TypedDocument<RateMutation, RateMutationVariables> = {
  operationName: 'Rate',
  operationType: 'mutation',
  query: `mutation Rate($movieId: Int!, $rating: Float!) {
  rate(movieId: $movieId, rating: $rating) {
    rating
    ratedAt
    movie {
      id
      title
    }
  }
}`,
};

export const RemoveRatingDocument: TypedDocument<RemoveRatingMutation, RemoveRatingMutationVariables> = {
  operationName: 'RemoveRating',
  operationType: 'mutation',
  query: `mutation RemoveRating($movieId: Int!) {
  removeRating(movieId: $movieId)
}`,
};

export const MeDocument: TypedDocument<MeQuery, MeQueryVariables> = {
  operationName: 'Me',
  operationType: 'query',
  query: `query Me($first: Int = 10, $after: String) {
  me {
    id
    ratingsCount
    ratings(first: $first, after: $after) {
      ...RatingPage
    }
  }
}

fragment RatingPage on RatingConnection {
  edges {
    cursor
    node {
      rating
      ratedAt
      movie {
        id
        title
      }
    }
  }
  pageInfo {
    hasNextPage
    endCursor
  }
}`,
};

export const MyRecommendationsDocument: TypedDocument<MyRecommendationsQuery, MyRecommendationsQueryVariables> = {
  operationName: 'MyRecommendations',
  operationType: 'query',
  query: `query MyRecommendations($strategy: Strategy, $first: Int = 20, $genres: [String!], $weights: EngineWeightsInput, $diversity: Float) {
  me {
    id
    ratingsCount
    recommendations(
      strategy: $strategy
      first: $first
      genres: $genres
      weights: $weights
      diversity: $diversity
    ) {
      ...RecommendationItem
    }
  }
}

fragment RecommendationItem on Recommendation {
  rank
  listId
  experiment
  variant
  score
  strategyUsed
  movie {
    id
    title
    year
    genres
  }
  engineScores {
    collaborative
    content
    statistical
  }
  explanation {
    text
    basedOn {
      id
      title
    }
  }
}`,
};

export const UserDocument: TypedDocument<UserQuery, UserQueryVariables> = {
  operationName: 'User',
  operationType: 'query',
  query: `query User($id: Int!, $first: Int = 10, $after: String) {
  user(id: $id) {
    id
    ratingsCount
    ratings(first: $first, after: $after) {
      ...RatingPage
    }
  }
}

fragment RatingPage on RatingConnection {
  edges {
    cursor
    node {
      rating
      ratedAt
      movie {
        id
        title
      }
    }
  }
  pageInfo {
    hasNextPage
    endCursor
  }
}`,
};

export const SimilarMoviesDocument: TypedDocument<SimilarMoviesQuery, SimilarMoviesQueryVariables> = {
  operationName: 'SimilarMovies',
  operationType: 'query',
  query: `query SimilarMovies($movieId: Int!, $first: Int = 10) {
  similarMovies(movieId: $movieId, first: $first) {
    score
    movie {
      id
      title
      year
    }
  }
}`,
};

export const TrendingDocument: TypedDocument<TrendingQuery, TrendingQueryVariables> = {
  operationName: 'Trending',
  operationType: 'query',
  query: `query Trending($genre: String, $windowDays: Int = 30, $halfLifeDays: Float, $first: Int = 20) {
  trending(
    genre: $genre
    windowDays: $windowDays
    halfLifeDays: $halfLifeDays
    first: $first
  ) {
    score
    votes
    mean
    lower
    upper
    windowEnd
    movie {
      id
      title
      year
    }
  }
}`,
};

export const SearchDocument: TypedDocument<SearchQuery, SearchQueryVariables> = {
  operationName: 'Search',
  operationType: 'query',
  query: `query Search($query: String!, $first: Int = 10, $genres: [String!]) {
  search(query: $query, first: $first, genres: $genres) {
    score
    movie {
      id
      title
      year
      genres
    }
  }
}`,
};

export const ExperimentsDocument: TypedDocument<ExperimentsQuery, ExperimentsQueryVariables> = {
  operationName: 'Experiments',
  operationType: 'query',
  query: `query Experiments {
  experiments {
    name
    status
    control
    createdAt
    stoppedAt
    variants {
      name
      strategy
      share
      weights {
        collaborative
        content
        statistical
      }
      diversity
    }
  }
}`,
};

export const ExperimentReportDocument: TypedDocument<ExperimentReportQuery, ExperimentReportQueryVariables> = {
  operationName: 'ExperimentReport',
  operationType: 'query',
  query: `query ExperimentReport($name: String!, $since: DateTimeISO, $until: DateTimeISO) {
  experimentReport(name: $name, since: $since, until: $until) {
    experiment
    status
    control
    since
    until
    markdown
    variants {
      variant
      isControl
      users
      lists
      impressions
      clicks
      watchedThrough
      ctr {
        ...ExperimentMetricFields
      }
      watchThrough {
        ...ExperimentMetricFields
      }
      ndcg10 {
        ...ExperimentMetricFields
      }
    }
  }
}

fragment ExperimentMetricFields on ExperimentMetric {
  value
  ciLow
  ciHigh
  n
  difference
  differenceCiLow
  differenceCiHigh
  lift
  pValue
  pValueIid
}`,
};

export const RecordEventsDocument: TypedDocument<RecordEventsMutation, RecordEventsMutationVariables> = {
  operationName: 'RecordEvents',
  operationType: 'mutation',
  query: `mutation RecordEvents($events: [EventInput!]!, $userId: Int, $externalId: String) {
  recordEvents(events: $events, userId: $userId, externalId: $externalId) {
    accepted
    duplicates
  }
}`,
};

export const UpsertUserDocument: TypedDocument<UpsertUserMutation, UpsertUserMutationVariables> = {
  operationName: 'UpsertUser',
  operationType: 'mutation',
  query: `mutation UpsertUser($externalId: String!) {
  upsertUser(externalId: $externalId) {
    id
    externalId
    ratingsCount
  }
}`,
};

export const RateForDocument: TypedDocument<RateForMutation, RateForMutationVariables> = {
  operationName: 'RateFor',
  operationType: 'mutation',
  query: `mutation RateFor($movieId: Int!, $rating: Float!, $userId: Int, $externalId: String) {
  rate(
    movieId: $movieId
    rating: $rating
    userId: $userId
    externalId: $externalId
  ) {
    rating
    ratedAt
    movie {
      id
      title
    }
  }
}`,
};

export const RemoveRatingForDocument: TypedDocument<RemoveRatingForMutation, RemoveRatingForMutationVariables> = {
  operationName: 'RemoveRatingFor',
  operationType: 'mutation',
  query: `mutation RemoveRatingFor($movieId: Int!, $userId: Int, $externalId: String) {
  removeRating(movieId: $movieId, userId: $userId, externalId: $externalId)
}`,
};

export const RotateTokenDocument: TypedDocument<RotateTokenMutation, RotateTokenMutationVariables> = {
  operationName: 'RotateToken',
  operationType: 'mutation',
  query: `mutation RotateToken($userId: Int, $externalId: String) {
  rotateToken(userId: $userId, externalId: $externalId) {
    token
    user {
      id
      externalId
    }
  }
}`,
};

export const RevokeTokenDocument: TypedDocument<RevokeTokenMutation, RevokeTokenMutationVariables> = {
  operationName: 'RevokeToken',
  operationType: 'mutation',
  query: `mutation RevokeToken($userId: Int, $externalId: String) {
  revokeToken(userId: $userId, externalId: $externalId)
}`,
};

export const UserByExternalIdDocument: TypedDocument<UserByExternalIdQuery, UserByExternalIdQueryVariables> = {
  operationName: 'UserByExternalId',
  operationType: 'query',
  query: `query UserByExternalId($externalId: String!, $first: Int = 10, $after: String) {
  user(externalId: $externalId) {
    id
    externalId
    ratingsCount
    ratings(first: $first, after: $after) {
      ...RatingPage
    }
  }
}

fragment RatingPage on RatingConnection {
  edges {
    cursor
    node {
      rating
      ratedAt
      movie {
        id
        title
      }
    }
  }
  pageInfo {
    hasNextPage
    endCursor
  }
}`,
};

export const RecommendationsForDocument: TypedDocument<RecommendationsForQuery, RecommendationsForQueryVariables> = {
  operationName: 'RecommendationsFor',
  operationType: 'query',
  query: `query RecommendationsFor($userId: Int, $externalId: String, $strategy: Strategy = HYBRID, $first: Int = 20, $genres: [String!], $weights: EngineWeightsInput, $diversity: Float) {
  recommendations(
    userId: $userId
    externalId: $externalId
    strategy: $strategy
    first: $first
    genres: $genres
    weights: $weights
    diversity: $diversity
  ) {
    ...RecommendationItem
  }
}

fragment RecommendationItem on Recommendation {
  rank
  listId
  experiment
  variant
  score
  strategyUsed
  movie {
    id
    title
    year
    genres
  }
  engineScores {
    collaborative
    content
    statistical
  }
  explanation {
    text
    basedOn {
      id
      title
    }
  }
}`,
};

export const MoviesDocument: TypedDocument<MoviesQuery, MoviesQueryVariables> = {
  operationName: 'Movies',
  operationType: 'query',
  query: `query Movies($first: Int = 20, $after: String, $filter: MovieFilterInput) {
  movies(first: $first, after: $after, filter: $filter) {
    edges {
      cursor
      node {
        ...MovieSummary
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}

fragment MovieSummary on Movie {
  id
  title
  year
  genres
  ratingsCount
  averageRating
}`,
};

export const MovieDocument: TypedDocument<MovieQuery, MovieQueryVariables> = {
  operationName: 'Movie',
  operationType: 'query',
  query: `query Movie($id: Int!, $similarFirst: Int = 5) {
  movie(id: $id) {
    ...MovieSummary
    overview
    imdbId
    tmdbId
    predictedRating
    bayesianRating {
      weighted
      mean
      votes
      lower
      upper
    }
    similar(first: $similarFirst) {
      score
      movie {
        id
        title
        year
      }
    }
  }
}

fragment MovieSummary on Movie {
  id
  title
  year
  genres
  ratingsCount
  averageRating
}`,
};

export const RecommendationsDocument: TypedDocument<RecommendationsQuery, RecommendationsQueryVariables> = {
  operationName: 'Recommendations',
  operationType: 'query',
  query: `query Recommendations($userId: Int!, $strategy: Strategy, $first: Int = 20, $genres: [String!], $weights: EngineWeightsInput, $diversity: Float) {
  recommendations(
    userId: $userId
    strategy: $strategy
    first: $first
    genres: $genres
    weights: $weights
    diversity: $diversity
  ) {
    ...RecommendationItem
  }
}

fragment RecommendationItem on Recommendation {
  rank
  listId
  experiment
  variant
  score
  strategyUsed
  movie {
    id
    title
    year
    genres
  }
  engineScores {
    collaborative
    content
    statistical
  }
  explanation {
    text
    basedOn {
      id
      title
    }
  }
}`,
};

export const HealthDocument: TypedDocument<HealthQuery, HealthQueryVariables> = {
  operationName: 'Health',
  operationType: 'query',
  query: `query Health {
  health {
    ok
    reason
    version
    engines {
      name
      ready
      reason
      progress
    }
  }
}`,
};

export const HybridWeightsDocument: TypedDocument<HybridWeightsQuery, HybridWeightsQueryVariables> = {
  operationName: 'HybridWeights',
  operationType: 'query',
  query: `query HybridWeights($weights: EngineWeightsInput) {
  hybridWeights(weights: $weights) {
    collaborative
    content
    statistical
    source
    validationNdcg10
    defaultValidationNdcg10
    validationScheme
    modelVersion
    note
  }
}`,
};
