import { EngineName } from '../engines/engine';
import { EngineWeights, ENGINE_NAMES } from './weights';

export type EngineScores = Record<EngineName, number | null>;

export interface MergedCandidate {
  movieId: number;
  score: number;
  /** Each engine's min-max normalised score in [0, 1]; null where it did not score the movie. */
  engineScores: EngineScores;
}

/** The lowest score and the distance to the highest, over an engine's scored movies. */
interface ScoreRange {
  min: number;
  span: number;
}

function scoreRange<V>(values: Iterable<V>, scoreOf: (value: V) => number): ScoreRange {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    const score = scoreOf(value);
    if (score < min) min = score;
    if (score > max) max = score;
  }
  return { min, span: max - min };
}

/**
 * A score's place in [0, 1] between its engine's lowest (0) and highest (1). A constant list maps
 * to 1: every candidate is equally the engine's best, which is what a constant score says. The one
 * formula of the served merge and of training's typed-array merge (calibration.ts).
 */
export function normalisedIn(score: number, min: number, span: number): number {
  return span > 0 ? (score - min) / span : 1;
}

/** Min-max normalisation into [0, 1] (normalisedIn over the engine's own range). */
export function minMaxNormalise(scores: ReadonlyMap<number, number>): Map<number, number> {
  const { min, span } = scoreRange(scores.values(), (score) => score);
  const normalised = new Map<number, number>();
  for (const [id, value] of scores) normalised.set(id, normalisedIn(value, min, span));
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
  return mergeBy(perEngine, weights, (score) => score);
}

/** mergeScores over the engines' scored movies as they found them, to the same bits. */
export function mergeScored(
  perEngine: Partial<Record<EngineName, ReadonlyMap<number, { readonly score: number }>>>,
  weights: EngineWeights,
): MergedCandidate[] {
  return mergeBy(perEngine, weights, (movie) => movie.score);
}

interface NormalisedEngine<V> extends ScoreRange {
  name: EngineName;
  scores: ReadonlyMap<number, V>;
}

/**
 * Each engine's minimum and span, and each candidate normalised as it is summed (the value
 * minMaxNormalise would give): a normalised Map per engine and a Set of the union were a fifth of
 * what a first HYBRID list allocated at 25M (heap sampling, with the orchestrator's copies of the
 * engines' lists as Maps of scores).
 */
function mergeBy<V>(
  perEngine: Partial<Record<EngineName, ReadonlyMap<number, V>>>,
  weights: EngineWeights,
  scoreOf: (value: V) => number,
): MergedCandidate[] {
  const engines: NormalisedEngine<V>[] = [];
  for (const name of ENGINE_NAMES) {
    const scores = perEngine[name];
    if (!scores || scores.size === 0) continue;
    engines.push({ name, scores, ...scoreRange(scores.values(), scoreOf) });
  }
  const merged: MergedCandidate[] = [];
  for (let e = 0; e < engines.length; e++) {
    candidates: for (const movieId of engines[e].scores.keys()) {
      // The union in first-seen order: a movie an earlier engine listed is merged already.
      for (let earlier = 0; earlier < e; earlier++)
        if (engines[earlier].scores.has(movieId)) continue candidates;
      const engineScores: EngineScores = { collaborative: null, content: null, statistical: null };
      let score = 0;
      for (const { name, scores, min, span } of engines) {
        const value = scores.get(movieId);
        if (value === undefined) continue;
        const normalised = normalisedIn(scoreOf(value), min, span);
        engineScores[name] = normalised;
        score += weights[name] * normalised;
      }
      merged.push({ movieId, score, engineScores });
    }
  }
  return merged.sort((a, b) => b.score - a.score || a.movieId - b.movieId);
}
