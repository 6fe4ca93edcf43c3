/**
 * The dot products of the content vote (neighbourVotesOf) as a WebAssembly SIMD function, equal to
 * the JavaScript loop bit for bit: each (candidate, rated movie) similarity is still one float64 sum
 * over d = 0 … dimension − 1 in that order, of float64 products of the two float32 components. The
 * SIMD lanes are different candidates, never different dimensions, so no sum is reassociated; the
 * product of two float32 values is exact in float64, and WebAssembly's f64x2.mul and f64x2.add round
 * like JavaScript's * and + (no fused multiply-add). What it saves is per element work: the loop
 * computes two candidates per instruction, with no float32 → float64 conversion (done once per call)
 * and no bounds checks.
 *
 * Why: the vote was the largest CPU cost of a user's first HYBRID list (its worker thread used
 * ~2.7× the API thread's CPU, /proc per-thread times, ml-latest-small, distinct users).
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

/** Candidates per block: four f64x2 accumulators share each loaded rated component. */
export const WASM_BLOCK = 8;

// similarities(candidates, rated, out, blocks, count, dimension): byte offsets, then counts.
const CANDIDATES = 0;
const RATED = 1;
const OUT = 2;
const BLOCKS = 3;
const COUNT = 4;
const DIMENSION = 5;
const PARAMS = [I32, I32, I32, I32, I32, I32];
const BLOCK = 6;
const ROW = 7;
const C = 8;
const R = 9;
const R_END = 10;
const ROW_BYTES = 11;
const BLOCK_BYTES = 12;
const X = 13;
const A0 = 14;
const LOCALS: [number, number][] = [
  [7, I32],
  [5, V128],
];

/** a_k += c[k] · x for the four lane pairs of a block, c at the local C. */
const accumulate = [0, 1, 2, 3].flatMap((k) => [
  ...op.get(A0 + k),
  ...op.get(C),
  ...op.v128Load(16 * k),
  ...op.get(X),
  ...op.f64x2Mul,
  ...op.f64x2Add,
  ...op.set(A0 + k),
]);

/*
 * Layouts (float64 throughout):
 *   candidates  block-interleaved: candidate b·8 + k, component d at [(b·dimension + d)·8 + k]
 *   rated       row-major: rated movie j, component d at [j·dimension + d]
 *   out         [(b·count + j)·8 + k] = Σ_d candidate(b·8 + k)[d] · rated(j)[d]
 */
const BODY: number[] = [
  // rowBytes = dimension · 8; blockBytes = rowBytes · 8
  ...op.get(DIMENSION),
  ...op.i32(8),
  ...op.i32Mul,
  ...op.tee(ROW_BYTES),
  ...op.i32(8),
  ...op.i32Mul,
  ...op.set(BLOCK_BYTES),
  ...op.i32(0),
  ...op.set(BLOCK),
  ...op.loop,
  ...op.i32(0),
  ...op.set(ROW),
  ...op.loop,
  // r = rated + row · rowBytes; rEnd = r + rowBytes; c = candidates + block · blockBytes
  ...op.get(RATED),
  ...op.get(ROW),
  ...op.get(ROW_BYTES),
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
  ...[0, 1, 2, 3].flatMap((k) => [...op.v128Zero, ...op.set(A0 + k)]),
  ...op.loop,
  ...op.get(R),
  ...op.v128Load64Splat,
  ...op.set(X),
  ...accumulate,
  ...op.get(C),
  ...op.i32(64),
  ...op.i32Add,
  ...op.set(C),
  ...op.get(R),
  ...op.i32(8),
  ...op.i32Add,
  ...op.tee(R),
  ...op.get(R_END),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  // out[(block · count + row) · 8 …] = a0 … a3; out advances 64 bytes per (block, row), in that order
  ...[0, 1, 2, 3].flatMap((k) => [...op.get(OUT), ...op.get(A0 + k), ...op.v128Store(16 * k)]),
  ...op.get(OUT),
  ...op.i32(64),
  ...op.i32Add,
  ...op.set(OUT),
  ...op.get(ROW),
  ...op.i32(1),
  ...op.i32Add,
  ...op.tee(ROW),
  ...op.get(COUNT),
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
   * cos(candidate i, rated j) for every pair (every vector `dimension` long); read candidate i's
   * against rated j with `at(i, j)`. The view is valid until the next call.
   */
  similarities(
    candidates: readonly Float32Array[],
    rated: readonly Float32Array[],
    dimension: number,
  ): { values: Float64Array; at: (i: number, j: number) => number } | null;
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
    const candidateBytes = blocks * WASM_BLOCK * dimension * 8;
    const ratedBytes = count * dimension * 8;
    const outBytes = blocks * count * WASM_BLOCK * 8;
    const total = candidateBytes + ratedBytes + outBytes;
    if (total > MAX_BYTES) return null;
    try {
      growMemoryTo(this.memory, total);
    } catch {
      // The address space or the engine's limit: this call votes in JavaScript.
      return null;
    }
    const buffer = this.memory.buffer;
    const cand = new Float64Array(buffer, 0, candidateBytes / 8);
    // Lanes of a short last block stay zero; their sums are not read.
    cand.fill(0, (candidates.length - 1 - ((candidates.length - 1) % WASM_BLOCK)) * dimension);
    candidates.forEach((candidate, i) => {
      const k = i % WASM_BLOCK;
      const base = (i - k) * dimension + k;
      for (let d = 0; d < dimension; d++) cand[base + d * WASM_BLOCK] = candidate[d];
    });
    const ratedValues = new Float64Array(buffer, candidateBytes, count * dimension);
    rated.forEach((row, j) => ratedValues.set(row, j * dimension));
    this.run(0, candidateBytes, candidateBytes + ratedBytes, blocks, count, dimension);
    const values = new Float64Array(buffer, candidateBytes + ratedBytes, outBytes / 8);
    return {
      values,
      at: (i: number, j: number) => {
        const k = i % WASM_BLOCK;
        return values[(i - k) * count + j * WASM_BLOCK + k];
      },
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
