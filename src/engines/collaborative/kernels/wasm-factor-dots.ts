/**
 * itemScore (linalg.ts) over consecutive factor rows as a WebAssembly SIMD function, equal to it bit
 * for bit: a row's score is still two float64 sums, one over its even and one over its odd factors,
 * of float64 products of the user's value and the promoted float32 factor, in factor order; the two
 * SIMD lanes are those two sums, never two terms of one sum, and f64x2.mul / f64x2.add round like
 * JavaScript's * and + (no fused multiply-add). Their sum is rounded to float32 as Math.fround does.
 *
 * Why: the norm-ordered top-N scan (mips-index.ts) scored its rows in that JavaScript loop, and it
 * was the largest function of the API thread for distinct-user COLLABORATIVE lists at 25M (18% of its
 * samples, node --cpu-prof).
 *
 * The rows live in the module's own memory, allocated once (the index holds them there), followed by
 * the user's vector and a block of scores.
 */
import { op } from '../../wasm-encoding';
import { ACC0, Q, ROWS, rowKernel, rowLoopBody } from '../../wasm-row-loop';
import { itemScore } from './linalg';

const v128Load64Zero = [0xfd, 0x5d, 3, 0];
const f64x2ExtractLane = (lane: number) => [0xfd, 0x21, lane];
const f32DemoteF64 = [0xb6];

/**
 * rowScores(rows, count, user, rowBytes, out), `rowLoopBody`'s loop with one accumulator:
 * ACC0 += promote(row[f], row[f + 1]) · (user[f], user[f + 1]), two factors a step, so its lanes are
 * the even and the odd sums in factor order. The loop's second accumulator stays zero, and adding
 * it changes no sum (one that starts at +0 never becomes −0); then lane 0 + lane 1, to float32.
 */
const BODY = rowLoopBody({
  inner: [
    ...op.get(ACC0),
    ...op.get(ROWS),
    ...v128Load64Zero,
    ...op.f64x2PromoteLowF32x4,
    ...op.get(Q),
    ...op.v128Load(0),
    ...op.f64x2Mul,
    ...op.f64x2Add,
    ...op.set(ACC0),
  ],
  lanes: 2,
  rowStep: 8,
  queryStep: 16,
  addVectors: op.f64x2Add,
  extractLane: f64x2ExtractLane,
  addScalars: op.f64Add,
  toFloat: f32DemoteF64,
});

const kernel = rowKernel('rowScores', BODY);

/** Factor rows scored against one user vector at a time, a block of consecutive rows per call. */
export interface FactorRowScorer {
  readonly simd: boolean;
  /** rowCount × rank float32, to be filled by the caller. */
  readonly rows: Float32Array;
  /** The user vector the next scores are against (copied). */
  setUser(vector: ArrayLike<number>): void;
  /** itemScore of rows first … first + count − 1 (count ≤ blockRows); valid until the next call. */
  score(first: number, count: number): Float32Array;
}

/**
 * A scorer for `rowCount` rows of `rank` factors, scoring up to `blockRows` rows a call: WebAssembly
 * SIMD where the engine has it and rank is even (the lanes are the even and odd sums), JavaScript
 * (itemScore) otherwise.
 */
export function createFactorRowScorer(
  rowCount: number,
  rank: number,
  blockRows: number,
  options: { wasm?: boolean } = {},
): FactorRowScorer {
  const rowBytes = rowCount * rank * 4;
  const userOffset = Math.ceil(rowBytes / 16) * 16;
  const outOffset = userOffset + rank * 8;
  const compiledKernel =
    options.wasm === false || rank % 2 !== 0 || rank === 0 ? null : kernel(outOffset + blockRows * 4);
  if (compiledKernel) {
    const { run, buffer } = compiledKernel;
    const rows = new Float32Array(buffer, 0, rowCount * rank);
    const user = new Float64Array(buffer, userOffset, rank);
    const out = new Float32Array(buffer, outOffset, blockRows);
    return {
      simd: true,
      rows,
      setUser: (vector) => user.set(vector),
      score(first, count) {
        if (count > 0) run(first * rank * 4, count, userOffset, rank * 4, outOffset);
        return out.subarray(0, count);
      },
    };
  }
  const rows = new Float32Array(rowCount * rank);
  const user = new Float64Array(rank);
  const out = new Float32Array(blockRows);
  return {
    simd: false,
    rows,
    setUser: (vector) => user.set(vector),
    score(first, count) {
      for (let r = 0; r < count; r++) out[r] = itemScore(user, rows, (first + r) * rank, rank);
      return out.subarray(0, count);
    },
  };
}
