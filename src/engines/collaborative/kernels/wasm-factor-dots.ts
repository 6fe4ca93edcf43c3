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
import { I32, V128, op, singleFunctionModule, webAssembly, type WasmMemory } from '../../wasm-encoding';
import { itemScore } from './linalg';

// rowScores(rows, count, user, rowBytes, out): byte offsets, a count and a row's size in bytes.
const ROWS = 0;
const COUNT = 1;
const USER = 2;
const ROW_BYTES = 3;
const OUT = 4;
const END = 5;
const ROW_END = 6;
const U = 7;
const ACC = 8;
const LOCALS: [number, number][] = [
  [3, I32],
  [1, V128],
];

const v128Load64Zero = [0xfd, 0x5d, 3, 0];
const f64x2ExtractLane = (lane: number) => [0xfd, 0x21, lane];
const f32DemoteF64 = [0xb6];
const f32Store = [0x38, 2, 0];

const advance = (local: number, bytes: number) => [
  ...op.get(local),
  ...op.i32(bytes),
  ...op.i32Add,
  ...op.set(local),
];

/** for each row: acc = (Σ even, Σ odd) of user[f]·promote(row[f]); out[r] = f32(acc.0 + acc.1). count ≥ 1. */
const BODY: number[] = [
  ...op.get(ROWS),
  ...op.get(COUNT),
  ...op.get(ROW_BYTES),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.set(END),
  ...op.loop,
  ...op.v128Zero,
  ...op.set(ACC),
  ...op.get(USER),
  ...op.set(U),
  ...op.get(ROWS),
  ...op.get(ROW_BYTES),
  ...op.i32Add,
  ...op.set(ROW_END),
  ...op.loop,
  ...op.get(ACC),
  ...op.get(ROWS),
  ...v128Load64Zero,
  ...op.f64x2PromoteLowF32x4,
  ...op.get(U),
  ...op.v128Load(0),
  ...op.f64x2Mul,
  ...op.f64x2Add,
  ...op.set(ACC),
  ...advance(ROWS, 8),
  ...advance(U, 16),
  ...op.get(ROWS),
  ...op.get(ROW_END),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  ...op.get(OUT),
  ...op.get(ACC),
  ...f64x2ExtractLane(0),
  ...op.get(ACC),
  ...f64x2ExtractLane(1),
  ...op.f64Add,
  ...f32DemoteF64,
  ...f32Store,
  ...advance(OUT, 4),
  ...op.get(ROWS),
  ...op.get(END),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  ...op.end,
];

const PAGE_BYTES = 65536;

let compiled: object | null | undefined;

function kernel(bytes: number): { run: (...args: number[]) => void; buffer: ArrayBufferLike } | null {
  if (compiled === undefined) {
    compiled = null;
    try {
      if (webAssembly)
        compiled = new webAssembly.Module(
          singleFunctionModule('rowScores', [I32, I32, I32, I32, I32], LOCALS, BODY),
        );
    } catch {
      // No SIMD in this engine: the JavaScript loop scores instead.
    }
  }
  if (!compiled || !webAssembly) return null;
  try {
    const instance = new webAssembly.Instance(compiled, {});
    const memory = instance.exports.memory as WasmMemory;
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    return { run: instance.exports.rowScores as (...args: number[]) => void, buffer: memory.buffer };
  } catch {
    // Out of address space: JavaScript memory instead.
    return null;
  }
}

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
