import type { DataSource } from 'typeorm';
import type { ModelStore } from '../engines/collaborative/model-store';
import type { Logger } from '../logger';

/** What training the first model reports once it is stored and activated. */
export interface FirstModelResult {
  version: string;
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

/**
 * Starts training the first model of a database that has ratings but no model. The composition root
 * (src/app.ts) receives one rather than importing training/: main.ts passes training/'s.
 */
export type FirstModelTrainer = (target: {
  dataSource: DataSource;
  url: string;
  /** The embedded database admits one session: training there runs in this process. */
  embedded: boolean;
  store: ModelStore;
  logger: Logger;
}) => FirstModelTraining;
