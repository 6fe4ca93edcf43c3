/**
 * The dot products of the content vote (neighbourVotesOf) as a WebAssembly SIMD function, equal to
 * the JavaScript loop bit for bit: each (candidate, rated movie) similarity is one float32 sum over
 * d = 0 … dimension − 1 in that order, of float32 products (`similarity32` in neighbour-score.ts).
 * The SIMD lanes are different candidates, never different dimensions, so no sum is reassociated,
 * and f32x4.mul and f32x4.add round like Math.fround of JavaScript's * and + (no fused multiply-add;
 * the product and the sum of two float32 values rounded once from float64 are the float32 ones).
 * What it saves is per element work: four candidates per instruction, no bounds checks.
 *
 * Why: the vote was the largest CPU cost of a user's first HYBRID list (its worker thread used
 * ~2.7× the API thread's CPU, /proc per-thread times, ml-latest-small, distinct users). The sums were
 * float64 (two lanes) until the arithmetic, not the loads, bounded the kernel: float32 lanes halve it.
 * Measured against the float64 sums: the evaluation of content, hybrid and hybrid-calibrated on
 * ml-100k u1 and ml-latest-small's temporal split identical to the last bit, and every served list
 * of ml-latest-small's users the same movies in the same order (scores within 1.3e-5, relative).
 *
 * The module is assembled here byte by byte, like the SGD kernel (collaborative/kernels/wasm-sgd.ts):
 * the repository has no WebAssembly toolchain.
 */

import {
  growMemoryTo,
  I32,
  V128,
  op,
  singleFunctionModule,
  webAssembly,
  type WasmMemory,
} from '../wasm-encoding';

/** Candidates per block: four f32x4 accumulators per rated movie share each loaded rated component. */
export const WASM_BLOCK = 16;

/**
 * Rated movies per pass of the inner loop: each loaded block of candidate components is multiplied
 * by two rated components into eight accumulators, so a candidate load serves two sums and eight
 * independent additions are in flight, where four waited on the addition's latency (float64 lanes,
 * 290 candidates × 300 rated, one rated movie per pass → two, in one process: 4.84 → 4.37 ms).
 */
export const RATED_PER_PASS = 2;

// similarities(candidates, rated, out, blocks, pairs, dimension): byte offsets, then counts.
const CANDIDATES = 0;
const RATED = 1;
const OUT = 2;
const BLOCKS = 3;
const PAIRS = 4;
const DIMENSION = 5;
const PARAMS = [I32, I32, I32, I32, I32, I32];
const BLOCK = 6;
const PAIR = 7;
const C = 8;
const R = 9;
const R_END = 10;
const PAIR_BYTES = 11;
const BLOCK_BYTES = 12;
const ROW_BYTES = 13;
const X0 = 14;
const X1 = 15;
const V = 16;
const A0 = 17;
const LOCALS: [number, number][] = [
  [8, I32],
  [11, V128],
];

/** a_k += c[k] · x0 and a_(4+k) += c[k] · x1 for the four lane quads of a block, c at the local C. */
const accumulate = [0, 1, 2, 3].flatMap((k) => [
  ...op.get(C),
  ...op.v128Load(16 * k),
  ...op.set(V),
  ...op.get(A0 + k),
  ...op.get(V),
  ...op.get(X0),
  ...op.f32x4Mul,
  ...op.f32x4Add,
  ...op.set(A0 + k),
  ...op.get(A0 + 4 + k),
  ...op.get(V),
  ...op.get(X1),
  ...op.f32x4Mul,
  ...op.f32x4Add,
  ...op.set(A0 + 4 + k),
]);

/*
 * Layouts (float32 throughout):
 *   candidates  block-interleaved: candidate b·16 + k, component d at [(b·dimension + d)·16 + k]
 *   rated       row after row (an even count: a zero row completes an odd one): rated movie j,
 *               component d at [j·dimension + d]; a pass reads rows 2p and 2p + 1 side by side
 *   out         [(b·2·pairs + j)·16 + k] = Σ_d candidate(b·16 + k)[d] · rated(j)[d]
 */
const BODY: number[] = [
  // rowBytes = dimension · 4; pairBytes = dimension · 8; blockBytes = dimension · 64
  ...op.get(DIMENSION),
  ...op.i32(4),
  ...op.i32Mul,
  ...op.tee(ROW_BYTES),
  ...op.i32(2),
  ...op.i32Mul,
  ...op.tee(PAIR_BYTES),
  ...op.i32(8),
  ...op.i32Mul,
  ...op.set(BLOCK_BYTES),
  ...op.i32(0),
  ...op.set(BLOCK),
  ...op.loop,
  ...op.i32(0),
  ...op.set(PAIR),
  ...op.loop,
  // r = rated + pair · pairBytes (row 2·pair); rEnd = r + rowBytes; c = candidates + block · blockBytes
  ...op.get(RATED),
  ...op.get(PAIR),
  ...op.get(PAIR_BYTES),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.tee(R),
  ...op.get(ROW_BYTES),
  ...op.i32Add,
  ...op.set(R_END),
  ...op.get(CANDIDATES),
  ...op.get(BLOCK),
  ...op.get(BLOCK_BYTES),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.set(C),
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [...op.v128Zero, ...op.set(A0 + k)]),
  ...op.loop,
  ...op.get(R),
  ...op.v128Load32Splat(0),
  ...op.set(X0),
  ...op.get(R),
  ...op.get(ROW_BYTES),
  ...op.i32Add,
  ...op.v128Load32Splat(0),
  ...op.set(X1),
  ...accumulate,
  ...op.get(C),
  ...op.i32(64),
  ...op.i32Add,
  ...op.set(C),
  ...op.get(R),
  ...op.i32(4),
  ...op.i32Add,
  ...op.tee(R),
  ...op.get(R_END),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  // rated 2p at out[0 … 63], rated 2p + 1 at out[64 … 127]; out advances 128 bytes per (block, pair)
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [...op.get(OUT), ...op.get(A0 + k), ...op.v128Store(16 * k)]),
  ...op.get(OUT),
  ...op.i32(128),
  ...op.i32Add,
  ...op.set(OUT),
  ...op.get(PAIR),
  ...op.i32(1),
  ...op.i32Add,
  ...op.tee(PAIR),
  ...op.get(PAIRS),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  ...op.get(BLOCK),
  ...op.i32(1),
  ...op.i32Add,
  ...op.tee(BLOCK),
  ...op.get(BLOCKS),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  ...op.end,
];

function moduleBytes(): Uint8Array {
  return singleFunctionModule('similarities', PARAMS, LOCALS, BODY);
}

/** A call needing more memory than this (1 GiB) votes in JavaScript instead. */
const MAX_BYTES = 1 << 30;

/** The similarities of many candidates against a user's rated movies, as the vote needs them. */
export interface SimilarityKernel {
  /**
   * cos(candidate i, rated j) for every pair (every vector `dimension` long): candidate i's against
   * rated j is `values[first(i) + j · step]`. The view is valid until the next call.
   */
  similarities(
    candidates: readonly Float32Array[],
    rated: readonly Float32Array[],
    dimension: number,
  ): { values: Float32Array; first: (i: number) => number; step: number } | null;
}

/**
 * `rows` into `target` in groups of `group`: row g·group + k, component d at
 * [(g·dimension + d)·group + k]. A short last group is completed by zeros, whose sums are not read.
 */
function interleave(
  target: Float32Array,
  rows: readonly Float32Array[],
  group: number,
  dimension: number,
): void {
  if (rows.length % group !== 0) target.fill(0, (rows.length - (rows.length % group)) * dimension);
  rows.forEach((row, i) => {
    const k = i % group;
    const base = (i - k) * dimension + k;
    for (let d = 0; d < dimension; d++) target[base + d * group] = row[d];
  });
}

class WasmSimilarityKernel implements SimilarityKernel {
  constructor(
    private readonly run: (...args: number[]) => void,
    private readonly memory: WasmMemory,
  ) {}

  similarities(candidates: readonly Float32Array[], rated: readonly Float32Array[], dimension: number) {
    const count = rated.length;
    const blocks = Math.ceil(candidates.length / WASM_BLOCK);
    if (blocks === 0 || count === 0 || dimension === 0) return null;
    const pairs = Math.ceil(count / RATED_PER_PASS);
    const padded = pairs * RATED_PER_PASS;
    const candidateBytes = blocks * WASM_BLOCK * dimension * 4;
    const ratedBytes = padded * dimension * 4;
    const outBytes = blocks * padded * WASM_BLOCK * 4;
    const total = candidateBytes + ratedBytes + outBytes;
    if (total > MAX_BYTES) return null;
    try {
      growMemoryTo(this.memory, total);
    } catch {
      // The address space or the engine's limit: this call votes in JavaScript.
      return null;
    }
    const buffer = this.memory.buffer;
    interleave(new Float32Array(buffer, 0, candidateBytes / 4), candidates, WASM_BLOCK, dimension);
    // Row after row, each copied whole: interleaving them in pairs, element by element, was about
    // half of a call (60 candidates × 150 rated movies at 512-d: 0.35 of 0.66 ms).
    const ratedRows = new Float32Array(buffer, candidateBytes, padded * dimension);
    rated.forEach((row, j) => ratedRows.set(row, j * dimension));
    if (padded > count) ratedRows.fill(0, count * dimension);
    this.run(0, candidateBytes, candidateBytes + ratedBytes, blocks, pairs, dimension);
    const values = new Float32Array(buffer, candidateBytes + ratedBytes, outBytes / 4);
    return {
      values,
      first: (i: number) => {
        const k = i % WASM_BLOCK;
        return (i - k) * padded + k;
      },
      step: WASM_BLOCK,
    };
  }
}

let kernel: SimilarityKernel | null | undefined;

/** This thread's kernel, or null where WebAssembly SIMD is unavailable (the caller votes in JavaScript). */
export function wasmSimilarityKernel(): SimilarityKernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (!webAssembly) return kernel;
  try {
    const instance = new webAssembly.Instance(new webAssembly.Module(moduleBytes()), {});
    kernel = new WasmSimilarityKernel(
      instance.exports.similarities as (...args: number[]) => void,
      instance.exports.memory as WasmMemory,
    );
  } catch {
    // No SIMD in this engine: the JavaScript loop computes the same values.
  }
  return kernel;
}
