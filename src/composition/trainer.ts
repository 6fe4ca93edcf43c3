/** What training the first model reports once it is stored and activated. */
export interface FirstModelResult {
  version: string;
  /** The activated model_versions.id. */
  versionId: number;
  ratings: number;
  seconds: number;
  maxRssBytes: number;
}

/** A first model training in the background. */
export interface FirstModelTraining {
  /** Resolves with the result; rejects with why it failed (or the signal that ended it). */
  readonly done: Promise<FirstModelResult>;
  /** Ends the training (on shutdown); `done` then rejects. */
  stop(): void;
}
