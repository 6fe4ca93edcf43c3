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
 * Fills missing weights from `base` (the weights in force: the specified defaults unless calibrated), rejects negative or non-finite ones, and rescales the
 * weights of the engines that take part so they sum to 1.
 */
export function resolveWeights(
  overrides: Partial<Record<EngineName, number | null>> | undefined,
  available: readonly EngineName[] = ENGINE_NAMES,
  base: EngineWeights = DEFAULT_WEIGHTS,
): EngineWeights {
  const merged = { ...base };
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

/** Where the weights a HYBRID list was merged with came from. */
export type WeightsSource = 'DEFAULT' | 'CALIBRATED' | 'REQUEST';

/** What HYBRID_WEIGHTS selects for requests that send no weights. */
export type HybridWeightsMode = 'default' | 'calibrated';

/** Weights calibrated at training time for one model version (see training/calibration.ts). */
export interface CalibratedWeightsOfVersion {
  modelVersion: number;
  weights: EngineWeights;
  validationNdcg10: number;
  defaultValidationNdcg10: number;
  validationScheme: string;
}

/** The weights HYBRID uses when a request sends none, and where they come from. */
export interface WeightsInForce {
  weights: EngineWeights;
  source: Exclude<WeightsSource, 'REQUEST'>;
  /** NDCG@10 on the training-time validation split (calibrated weights only). */
  validationNdcg10: number | null;
  /** The specified defaults' NDCG@10 on the same split, when calibration measured it. */
  defaultValidationNdcg10: number | null;
  validationScheme: string | null;
  /** The collaborative model version the calibrated weights were trained with. */
  modelVersion: number | null;
  /** Why calibrated weights were asked for but the defaults are in force. */
  note: string | null;
}

/**
 * HYBRID_WEIGHTS=default always serves the specified weights; =calibrated serves the active model
 * version's calibrated weights, falling back to the defaults (and saying why) while there are none.
 */
export function weightsInForce(
  mode: HybridWeightsMode,
  calibrated: CalibratedWeightsOfVersion | null,
  activeVersion: number | null,
): WeightsInForce {
  const defaults: WeightsInForce = {
    weights: { ...DEFAULT_WEIGHTS },
    source: 'DEFAULT',
    validationNdcg10: calibrated?.defaultValidationNdcg10 ?? null,
    defaultValidationNdcg10: calibrated?.defaultValidationNdcg10 ?? null,
    validationScheme: calibrated?.validationScheme ?? null,
    modelVersion: activeVersion,
    note: null,
  };
  if (mode === 'default') return defaults;
  if (!calibrated)
    return {
      ...defaults,
      note:
        activeVersion === null
          ? 'HYBRID_WEIGHTS=calibrated, but no collaborative model is active yet'
          : `HYBRID_WEIGHTS=calibrated, but model version ${activeVersion} was trained without calibrated weights`,
    };
  return {
    weights: { ...calibrated.weights },
    source: 'CALIBRATED',
    validationNdcg10: calibrated.validationNdcg10,
    defaultValidationNdcg10: calibrated.defaultValidationNdcg10,
    validationScheme: calibrated.validationScheme,
    modelVersion: calibrated.modelVersion,
    note: null,
  };
}
