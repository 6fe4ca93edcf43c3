import { EngineName } from '../engines/engine';
import { DomainError } from '../errors';
import { Strategy } from '../orchestrator/orchestrator';
import { ENGINE_NAMES } from '../orchestrator/weights';

export type ExperimentStatus = 'active' | 'stopped';

export const STRATEGIES: readonly Strategy[] = ['HYBRID', 'COLLABORATIVE', 'CONTENT', 'STATISTICAL'];

/** What a variant fixes of the orchestrator call; whatever it leaves null keeps the service's default. */
export interface VariantSettings {
  strategy: Strategy;
  /** Relative engine weights for HYBRID (missing engines keep the weights in force). */
  weights: Partial<Record<EngineName, number>> | null;
  /** MMR diversity in [0, 1]; null: 0. */
  diversity: number | null;
}

export interface Variant extends VariantSettings {
  name: string;
  /** Fraction of the experiment's users, in (0, 1]; the shares of an experiment sum to 1. */
  share: number;
}

export interface Experiment {
  name: string;
  status: ExperimentStatus;
  /** The variant every other one is compared against. */
  control: string;
  /** In the order their traffic slices are laid out on [0, 1): never reordered once created. */
  variants: Variant[];
}

/** What a caller asks for; validateExperiment turns it into an Experiment or says precisely what is wrong. */
export interface ExperimentInput {
  name: string;
  /** Defaults to the first variant. */
  control?: string | null;
  variants: {
    name: string;
    strategy: string;
    share: number;
    weights?: Partial<Record<string, number | null>> | null;
    diversity?: number | null;
  }[];
}

export type ExperimentErrorReason =
  | 'INVALID_NAME'
  | 'TOO_FEW_VARIANTS'
  | 'TOO_MANY_VARIANTS'
  | 'DUPLICATE_VARIANT'
  | 'INVALID_STRATEGY'
  | 'INVALID_SHARE'
  | 'SHARES_DO_NOT_SUM_TO_ONE'
  | 'INVALID_WEIGHTS'
  | 'INVALID_DIVERSITY'
  | 'UNKNOWN_CONTROL'
  | 'IDENTICAL_VARIANTS'
  | 'EXPERIMENT_EXISTS'
  | 'EXPERIMENT_NOT_FOUND'
  | 'ANOTHER_EXPERIMENT_ACTIVE'
  | 'INVALID_WINDOW';

/** A definition or request about experiments that cannot be honoured: BAD_USER_INPUT (NOT_FOUND for an unknown name) with a precise reason. */
export class ExperimentError extends DomainError {
  constructor(
    readonly reason: ExperimentErrorReason,
    message: string,
  ) {
    super(reason === 'EXPERIMENT_NOT_FOUND' ? 'NOT_FOUND' : 'BAD_USER_INPUT', message, { reason });
  }
}

export const MAX_VARIANTS = 10;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Shares are typed by people (0.33 + 0.33 + 0.34); a rounding error is not a mistake. */
const SHARE_TOLERANCE = 1e-6;

export function checkName(name: string, what: 'experiment' | 'variant'): void {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new ExperimentError(
      'INVALID_NAME',
      `${what} name must be 1–64 letters, digits, '_', '.' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`,
    );
}

/** Validates a definition in full; a new experiment starts active. */
export function validateExperiment(input: ExperimentInput): Experiment {
  checkName(input.name, 'experiment');
  if (!Array.isArray(input.variants) || input.variants.length < 2)
    throw new ExperimentError(
      'TOO_FEW_VARIANTS',
      'an experiment needs at least two variants (a control and one other)',
    );
  if (input.variants.length > MAX_VARIANTS)
    throw new ExperimentError('TOO_MANY_VARIANTS', `an experiment has at most ${MAX_VARIANTS} variants`);
  const seen = new Set<string>();
  const variants: Variant[] = input.variants.map((raw) => {
    checkName(raw.name, 'variant');
    if (seen.has(raw.name))
      throw new ExperimentError('DUPLICATE_VARIANT', `variant ${raw.name} is listed twice`);
    seen.add(raw.name);
    const strategy = STRATEGIES.find((s) => s === raw.strategy);
    if (!strategy)
      throw new ExperimentError(
        'INVALID_STRATEGY',
        `variant ${raw.name}: strategy must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(raw.strategy)}`,
      );
    if (typeof raw.share !== 'number' || !Number.isFinite(raw.share) || raw.share <= 0 || raw.share > 1)
      throw new ExperimentError(
        'INVALID_SHARE',
        `variant ${raw.name}: share must be in (0, 1], got ${raw.share}`,
      );
    return {
      name: raw.name,
      strategy,
      share: raw.share,
      weights: checkWeights(raw.name, strategy, raw.weights),
      diversity: checkDiversity(raw.name, raw.diversity),
    };
  });
  const total = variants.reduce((sum, v) => sum + v.share, 0);
  if (Math.abs(total - 1) > SHARE_TOLERANCE)
    throw new ExperimentError(
      'SHARES_DO_NOT_SUM_TO_ONE',
      `the variants' shares must sum to 1, they sum to ${round(total)}`,
    );
  const control = input.control ?? variants[0].name;
  if (!seen.has(control))
    throw new ExperimentError(
      'UNKNOWN_CONTROL',
      `control ${JSON.stringify(control)} is not one of the variants`,
    );
  // Identical settings under different names are deliberate only as an A/A test (every variant the
  // same); a partial copy is a typing mistake that would waste traffic.
  const distinct = new Set(variants.map(settingsKey)).size;
  if (distinct > 1 && distinct < variants.length)
    throw new ExperimentError(
      'IDENTICAL_VARIANTS',
      'some variants share the same settings: make every variant different, or all identical for an A/A test',
    );
  return { name: input.name, status: 'active', control, variants };
}

function checkWeights(
  variant: string,
  strategy: Strategy,
  raw: Partial<Record<string, number | null>> | null | undefined,
): Partial<Record<EngineName, number>> | null {
  if (raw === null || raw === undefined) return null;
  const present = Object.entries(raw).filter(([, value]) => value !== null && value !== undefined);
  if (present.length === 0) return null;
  if (strategy !== 'HYBRID')
    throw new ExperimentError(
      'INVALID_WEIGHTS',
      `variant ${variant}: weights only apply to HYBRID, not ${strategy}`,
    );
  const weights: Partial<Record<EngineName, number>> = {};
  for (const [engine, value] of present) {
    const name = ENGINE_NAMES.find((n) => n === engine);
    if (!name)
      throw new ExperimentError(
        'INVALID_WEIGHTS',
        `variant ${variant}: unknown engine ${JSON.stringify(engine)} (one of ${ENGINE_NAMES.join(', ')})`,
      );
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1000)
      throw new ExperimentError(
        'INVALID_WEIGHTS',
        `variant ${variant}: weight ${engine} must be in [0, 1000], got ${value}`,
      );
    weights[name] = value;
  }
  return weights;
}

function checkDiversity(variant: string, raw: number | null | undefined): number | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0 || raw > 1)
    throw new ExperimentError(
      'INVALID_DIVERSITY',
      `variant ${variant}: diversity must be in [0, 1], got ${raw}`,
    );
  return raw;
}

function settingsKey(v: VariantSettings): string {
  const weights = v.weights ? ENGINE_NAMES.map((n) => v.weights?.[n] ?? '-').join(',') : '';
  return `${v.strategy}|${weights}|${v.diversity ?? 0}`;
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
