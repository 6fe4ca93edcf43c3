import { EngineName } from '../engines/engine';
import { EngineWeights, ENGINE_NAMES } from './weights';

export type EngineScores = Record<EngineName, number | null>;

export interface MergedCandidate {
  movieId: number;
  score: number;
  /** Each engine's min-max normalised score in [0, 1]; null where it did not score the movie. */
  engineScores: EngineScores;
}

/**
 * Min-max normalisation into [0, 1]. A constant list maps to 1: every candidate is equally the
 * engine's best, which is what a constant score says.
 */
export function minMaxNormalise(scores: ReadonlyMap<number, number>): Map<number, number> {
  let min = Infinity;
  let max = -Infinity;
  for (const value of scores.values()) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const span = max - min;
  const normalised = new Map<number, number>();
  for (const [id, value] of scores) normalised.set(id, span > 0 ? (value - min) / span : 1);
  return normalised;
}

/**
 * The hybrid merge: per-engine min-max normalisation over the candidate union, then a weighted sum.
 * A movie an engine did not score contributes 0 from that engine (it is below that engine's
 * whole candidate list), which keeps one engine's favourite from winning on absence of evidence.
 */
export function mergeScores(
  perEngine: Partial<Record<EngineName, ReadonlyMap<number, number>>>,
  weights: EngineWeights,
): MergedCandidate[] {
  const normalised = new Map<EngineName, Map<number, number>>();
  const candidates = new Set<number>();
  for (const name of ENGINE_NAMES) {
    const scores = perEngine[name];
    if (!scores || scores.size === 0) continue;
    normalised.set(name, minMaxNormalise(scores));
    for (const id of scores.keys()) candidates.add(id);
  }
  const merged: MergedCandidate[] = [];
  for (const movieId of candidates) {
    const engineScores: EngineScores = { collaborative: null, content: null, statistical: null };
    let score = 0;
    for (const [name, scores] of normalised) {
      const value = scores.get(movieId);
      if (value === undefined) continue;
      engineScores[name] = value;
      score += weights[name] * value;
    }
    merged.push({ movieId, score, engineScores });
  }
  return merged.sort((a, b) => b.score - a.score || a.movieId - b.movieId);
}
