import { EngineName, Evidence, ScoredMovie } from '../engines/engine';
import { EngineScores } from './merge';
import { EngineWeights } from './weights';

export interface Explanation {
  text: string;
  /** The movies the explanation rests on (the user's own ratings, usually). */
  movieIds: number[];
}

function stars(rating: number): string {
  return `${Number.isInteger(rating) ? rating.toFixed(0) : rating.toFixed(1)}★`;
}

function listTitles(items: { title: string; rating?: number }[]): string {
  const parts = items.map((i) => (i.rating !== undefined ? `${i.title} ${stars(i.rating)}` : i.title));
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** The engine whose weighted, normalised score contributed most to the final score. */
export function leadingEngine(engineScores: EngineScores, weights: EngineWeights): EngineName | null {
  let best: EngineName | null = null;
  let bestValue = -1;
  for (const name of Object.keys(engineScores) as EngineName[]) {
    const score = engineScores[name];
    if (score === null) continue;
    const value = score * weights[name];
    if (value > bestValue) {
      bestValue = value;
      best = name;
    }
  }
  return best;
}

export function explain(
  engine: EngineName | null,
  scored: ScoredMovie | undefined,
  titles: ReadonlyMap<number, string>,
  coldStart: { ratingsCount: number; threshold: number } | null,
): Explanation {
  const evidence: Evidence[] = (scored?.evidence ?? []).filter((e) => titles.has(e.movieId)).slice(0, 3);
  const named = evidence.map((e) => ({ title: titles.get(e.movieId) as string, rating: e.rating }));
  const movieIds = evidence.map((e) => e.movieId);
  if (coldStart) {
    const missing = coldStart.threshold - coldStart.ratingsCount;
    const reason = scored?.reason ? `${scored.reason}. ` : '';
    return {
      text: `${reason}Popular with everyone: rate ${missing} more movie${missing === 1 ? '' : 's'} for personal picks.`,
      movieIds: [],
    };
  }
  switch (engine) {
    case 'collaborative':
      return named.length
        ? { text: `Because you rated ${listTitles(named)}`, movieIds }
        : { text: 'Liked by people whose ratings resemble yours', movieIds };
    case 'content':
      return named.length
        ? { text: `Similar to ${listTitles(named)}, which you rated`, movieIds }
        : { text: 'Close to the kind of movies you rate highly', movieIds };
    case 'statistical':
      return { text: scored?.reason ?? 'Highly rated by many people', movieIds };
    default:
      return { text: 'Recommended for you', movieIds };
  }
}
