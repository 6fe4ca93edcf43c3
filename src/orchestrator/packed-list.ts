import { STRATEGIES } from '../experiments/definition';
import type { Recommendation, RecommendationList, Strategy } from './orchestrator';
import { ENGINE_NAMES } from './weights';

/**
 * A finished list as a handful of objects: its numbers in one Float64Array, its explanations' texts
 * in one string. Lists the orchestrator remembers outlive young-generation collections, so each
 * object in them is copied and then promoted; as items (each with its engine scores, explanation,
 * evidence ids and boxed numbers, ~8 objects an item) they were most of what the heap grew by per
 * new user once the engines kept item indices (heap snapshots, 2,000 users at 1M ratings). Packed,
 * the bytes copied per collection stayed the same (3.5 / 3.0 MB surviving / promoted against 3.6 /
 * 3.0, `--trace-gc-nvp`), in a few objects a list instead of ~160. Unpacking a 20-item list on
 * reuse makes its ~80 objects again, which die young.
 *
 * `numbers`, per item: movieId, rank, score, the strategy's index in STRATEGIES, one score per
 * engine in ENGINE_NAMES order (NaN: null), the explanation text's length, the count of its movie
 * ids, then those ids.
 */
export interface PackedList {
  readonly listId: string;
  readonly experiment: string | null;
  readonly variant: string | null;
  readonly strategyUsed: Strategy;
  readonly skippedEngines: RecommendationList['skippedEngines'];
  readonly size: number;
  readonly numbers: Float64Array;
  readonly texts: string;
}

export function packList(list: RecommendationList): PackedList {
  let length = 0;
  for (const item of list.items) length += 6 + ENGINE_NAMES.length + item.explanation.movieIds.length;
  const numbers = new Float64Array(length);
  let at = 0;
  for (const item of list.items) {
    numbers[at++] = item.movieId;
    numbers[at++] = item.rank;
    numbers[at++] = item.score;
    numbers[at++] = STRATEGIES.indexOf(item.strategyUsed);
    for (const engine of ENGINE_NAMES) numbers[at++] = item.engineScores[engine] ?? NaN;
    const { text, movieIds } = item.explanation;
    numbers[at++] = text.length;
    numbers[at++] = movieIds.length;
    for (const id of movieIds) numbers[at++] = id;
  }
  return {
    listId: list.listId,
    experiment: list.experiment,
    variant: list.variant,
    strategyUsed: list.strategyUsed,
    skippedEngines: list.skippedEngines,
    size: list.items.length,
    numbers,
    // Joined, not appended piece by piece: appending makes a tree of strings, an object a piece.
    texts: list.items.map((item) => item.explanation.text).join(''),
  };
}

export function unpackList(packed: PackedList): RecommendationList {
  const { numbers, texts } = packed;
  const items: Recommendation[] = [];
  let at = 0;
  let textAt = 0;
  for (let n = 0; n < packed.size; n++) {
    const movieId = numbers[at++];
    const rank = numbers[at++];
    const score = numbers[at++];
    const strategyUsed = STRATEGIES[numbers[at++]];
    const engineScores = {} as Recommendation['engineScores'];
    for (const engine of ENGINE_NAMES) {
      const value = numbers[at++];
      engineScores[engine] = Number.isNaN(value) ? null : value;
    }
    const textLength = numbers[at++];
    const text = texts.slice(textAt, (textAt += textLength));
    const movieIds: number[] = [];
    for (let count = numbers[at++]; count > 0; count--) movieIds.push(numbers[at++]);
    items.push({ movieId, rank, score, strategyUsed, engineScores, explanation: { text, movieIds } });
  }
  return {
    listId: packed.listId,
    experiment: packed.experiment,
    variant: packed.variant,
    strategyUsed: packed.strategyUsed,
    items,
    skippedEngines: packed.skippedEngines,
  };
}
