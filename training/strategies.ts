import type { RatingsDataset } from './dataset';
import type { ValidationSplitKind } from './validation-split';

/**
 * A recommender under evaluation. Users and items are DENSE INDICES of the training dataset, whose id
 * space spans the whole catalog (train ∪ test), so an index may have no training ratings at all and
 * the strategy must fall back gracefully (usually to its baseline) for it.
 */
export interface EvaluationStrategy {
  readonly name: string;
  fit(train: RatingsDataset): Promise<void> | void;
  /** A rating prediction; the harness clips it to the training rating scale. Absent: no RMSE/MAE. */
  predict?(user: number, item: number): number;
  /**
   * Fills out[item] with a ranking score for every item (higher is better). Absent: the harness ranks
   * by `predict`; with neither, the strategy has no ranking metrics.
   */
  scoreAll?(user: number, out: Float32Array): void;
  /**
   * The items the served engine would bring to a HYBRID merge itself, where it finds them
   * approximately (the content engine: its taste profile's neighbours); the merge still asks it to
   * score the others' candidates. Absent or null: its top items over every item.
   */
  candidatesOf?(user: number): ReadonlySet<number> | null;
  /** What fit() chose on validation (weights, a hyperparameter), for the report; absent: nothing. */
  fitNote?(): string | null;
}

export interface StrategyContext {
  readonly seed: number;
  /** Worker threads a strategy may use for training. */
  readonly threads: number;
  /**
   * How a strategy that makes choices carves validation data from its training data: 'temporal' (each
   * user's latest ratings) under the temporal protocol, 'random' otherwise. Absent: 'random'.
   */
  readonly validationSplit?: ValidationSplitKind;
}

export interface StrategyRegistration {
  readonly name: string;
  readonly description: string;
  /**
   * The strategy merges several engines (the hybrids): reports compare it, user by user, with the
   * best strategy that does not.
   */
  readonly blendsEngines?: boolean;
  readonly create: (context: StrategyContext) => EvaluationStrategy;
}

export class UnknownStrategyError extends Error {
  constructor(name: string, known: readonly string[]) {
    super(`unknown strategy "${name}" (known: ${known.join(', ')})`);
    this.name = 'UnknownStrategyError';
  }
}

const registry = new Map<string, StrategyRegistration>();

/** Adds (or replaces) a strategy; later work plugs new recommenders into the harness this way. */
export function registerStrategy(registration: StrategyRegistration): void {
  registry.set(registration.name, registration);
}

export function registeredStrategies(): StrategyRegistration[] {
  return [...registry.values()];
}

export function strategyBlendsEngines(name: string): boolean {
  return registry.get(name)?.blendsEngines === true;
}

export function createStrategy(name: string, context: StrategyContext): EvaluationStrategy {
  const registration = registry.get(name);
  if (!registration) throw new UnknownStrategyError(name, [...registry.keys()]);
  return registration.create(context);
}
