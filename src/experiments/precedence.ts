import { EngineName } from '../engines/engine';
import { ListAttribution, Strategy } from '../orchestrator/orchestrator';
import { Assignment } from './active-experiment';

/** What a recommendation request itself asked for; null/undefined = left to the service. */
export interface RequestedSettings {
  strategy?: Strategy | null;
  weights?: Partial<Record<EngineName, number | null>> | null;
  diversity?: number | null;
}

export interface EffectiveSettings {
  strategy: Strategy;
  weights: Partial<Record<EngineName, number | null>> | undefined;
  diversity: number;
  attribution: ListAttribution | null;
}

/** The request leaves the ranking to the service: only then may an experiment decide it. */
export function leavesRankingOpen(requested: RequestedSettings): boolean {
  return (
    (requested.strategy ?? null) === null &&
    (requested.weights ?? null) === null &&
    (requested.diversity ?? null) === null
  );
}

/**
 * Precedence: a request that fixes any of strategy, weights or diversity is served exactly as asked
 * and belongs to no experiment (its list was not chosen by a variant, so it must not be counted as
 * one); a request that fixes none gets its variant's settings, in full, and the list carries the
 * experiment and variant. Filters (genres) and page size are the caller's either way.
 */
export function effectiveSettings(
  requested: RequestedSettings,
  assignment: Assignment | null,
): EffectiveSettings {
  if (assignment && leavesRankingOpen(requested))
    return {
      strategy: assignment.strategy,
      weights: assignment.weights ?? undefined,
      diversity: assignment.diversity ?? 0,
      attribution: { experiment: assignment.experiment, variant: assignment.variant },
    };
  return {
    strategy: requested.strategy ?? 'HYBRID',
    weights: requested.weights ?? undefined,
    diversity: requested.diversity ?? 0,
    attribution: null,
  };
}
