import { DomainError } from '../errors';
import { EngineName } from '../engines/engine';

export type EngineWeights = Record<EngineName, number>;

/**
 * The product's specified weights: 50% collaborative, 30% content, 20% statistical. They hold
 * whatever an evaluation says; weights fitted to data are a separate, opt-in source
 * (HYBRID_WEIGHTS=calibrated, chosen on a validation split at training time).
 */
export const DEFAULT_WEIGHTS: EngineWeights = { collaborative: 0.5, content: 0.3, statistical: 0.2 };

export const ENGINE_NAMES: readonly EngineName[] = ['collaborative', 'content', 'statistical'];

export class InvalidWeightsError extends DomainError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

/**
 * Fills missing weights from the defaults, rejects negative or non-finite ones, and rescales the
 * weights of the engines that take part so they sum to 1.
 */
export function resolveWeights(
  overrides: Partial<Record<EngineName, number | null>> | undefined,
  available: readonly EngineName[] = ENGINE_NAMES,
): EngineWeights {
  const merged = { ...DEFAULT_WEIGHTS };
  for (const name of ENGINE_NAMES) {
    const value = overrides?.[name];
    if (value === undefined || value === null) continue;
    if (!Number.isFinite(value) || value < 0 || value > 1000)
      throw new InvalidWeightsError(
        `weights.${name} must be a finite number between 0 and 1000, got ${value}`,
      );
    merged[name] = value;
  }
  if (ENGINE_NAMES.every((name) => merged[name] === 0))
    throw new InvalidWeightsError('weights must not all be zero');
  const total = available.reduce((sum, name) => sum + merged[name], 0);
  const result: EngineWeights = { collaborative: 0, content: 0, statistical: 0 };
  if (total === 0) return result;
  for (const name of available) result[name] = merged[name] / total;
  return result;
}
