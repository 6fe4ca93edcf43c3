/**
 * easeColumnScores (ease.ts) as a WebAssembly SIMD function, equal to it bit for bit: each column's
 * score is still one float64 sum over the user's rated rows in their order, of float64 products of
 * the rating's encoded value and the float32 weight; the SIMD lanes are two columns, never two
 * terms of one sum, and f64x2.mul / f64x2.add round like JavaScript's * and + (no fused
 * multiply-add). It saves the per element conversion and bounds checks of the JavaScript loop.
 *
 * Why: scoring a user's columns was the largest single function of the API thread for a first
 * HYBRID list once the vote left it (7.5% of its samples, node --cpu-prof, ml-latest-small,
 * distinct users).
 *
 * The weights live in the module's own memory: one copy of the model's columns × columns float32
 * matrix (36 MB at 3,000 columns) beside the one the model keeps, made once per model version.
 */
import type { EaseModel } from './ease';
import { encodingMean } from './pure-svd';
import { encodeRating } from './pure-svd';
import {
  F64,
  growMemoryTo,
  I32,
  MAX_KERNEL_MEMORY_BYTES,
  V128,
  VOID,
  op,
  singleFunctionModule,
  webAssembly,
  type WasmMemory,
} from '../../wasm-encoding';

// accumulate(weights, out, rows, values, count, n): byte offsets, then counts.
const WEIGHTS = 0;
const OUT = 1;
const ROWS = 2;
const VALUES = 3;
const COUNT = 4;
const N = 5;
const R = 6;
const W = 7;
const O = 8;
const PAIRS_END = 9;
const VALUE = 10;
const VALUE2 = 11;
const LOCALS: [number, number][] = [
  [4, I32],
  [1, F64],
  [1, V128],
];

/*
 * for r < count: value = values[r]; w = weights + rows[r]·n·4
 *   for each pair of columns j, j + 1: out[j..j+1] += promote(w[j..j+1]) · value
 *   an odd last column: out[n − 1] += promote(w[n − 1]) · value
 */
const BODY: number[] = [
  // pairsEnd = out + (n & ~1)·8
  ...op.get(OUT),
  ...op.get(N),
  ...op.i32(-2),
  ...op.i32And,
  ...op.i32(8),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.set(PAIRS_END),
  ...op.i32(0),
  ...op.set(R),
  ...op.block,
  ...op.get(R),
  ...op.get(COUNT),
  ...op.i32GeU,
  ...op.brIf(0),
  ...op.loop,
  // value = values[r]; value2 = splat(value); w = weights + rows[r]·n·4; o = out
  ...op.get(VALUES),
  ...op.get(R),
  ...op.i32(8),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.f64Load,
  ...op.tee(VALUE),
  ...op.f64x2Splat,
  ...op.set(VALUE2),
  ...op.get(WEIGHTS),
  ...op.get(ROWS),
  ...op.get(R),
  ...op.i32(4),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.i32Load,
  ...op.get(N),
  ...op.i32Mul,
  ...op.i32(4),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.set(W),
  ...op.get(OUT),
  ...op.set(O),
  ...op.block,
  ...op.get(O),
  ...op.get(PAIRS_END),
  ...op.i32GeU,
  ...op.brIf(0),
  ...op.loop,
  ...op.get(O),
  ...op.get(O),
  ...op.v128Load(0),
  ...op.get(W),
  ...op.v128Load64Splat(0),
  ...op.f64x2PromoteLowF32x4,
  ...op.get(VALUE2),
  ...op.f64x2Mul,
  ...op.f64x2Add,
  ...op.v128Store(0),
  ...op.get(W),
  ...op.i32(8),
  ...op.i32Add,
  ...op.set(W),
  ...op.get(O),
  ...op.i32(16),
  ...op.i32Add,
  ...op.tee(O),
  ...op.get(PAIRS_END),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  ...op.end,
  // An odd last column, one lane.
  ...op.get(N),
  ...op.i32(1),
  ...op.i32And,
  ...[0x04, VOID], // if
  ...op.get(O),
  ...op.get(O),
  ...op.f64Load,
  ...op.get(W),
  ...op.f32Load,
  ...op.f64PromoteF32,
  ...op.get(VALUE),
  ...op.f64Mul,
  ...op.f64Add,
  ...op.f64Store,
  ...op.end,
  ...op.get(R),
  ...op.i32(1),
  ...op.i32Add,
  ...op.tee(R),
  ...op.get(COUNT),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  ...op.end,
  ...op.end,
];

function moduleBytes(): Uint8Array {
  return singleFunctionModule('accumulate', [I32, I32, I32, I32, I32, I32], LOCALS, BODY);
}

let compiled: object | null | undefined;

function easeModule(): object | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (!webAssembly) return compiled;
  try {
    compiled = new webAssembly.Module(moduleBytes());
  } catch {
    // No SIMD in this engine: easeColumnScores computes the same values.
  }
  return compiled;
}

/** easeColumnScores for one model, with the model's weights copied into WebAssembly memory once. */
export class WasmEaseScorer {
  private readonly n: number;
  private readonly outOffset: number;
  private readonly scratchOffset: number;
  private scratchRows = 0;

  private constructor(
    private readonly model: EaseModel,
    private readonly run: (...args: number[]) => void,
    private readonly memory: WasmMemory,
  ) {
    this.n = model.columns.length;
    // Weights, then the column scores (8-byte aligned), then rows and values per call.
    this.outOffset = Math.ceil((this.n * this.n * 4) / 16) * 16;
    this.scratchOffset = this.outOffset + Math.ceil((this.n * 8) / 16) * 16;
    this.reserve(this.scratchOffset);
    new Float32Array(this.memory.buffer, 0, this.n * this.n).set(model.weights);
  }

  /** A scorer for `model`, or null where WebAssembly SIMD is unavailable or the model too large. */
  static of(model: EaseModel): WasmEaseScorer | null {
    const compiledModule = easeModule();
    const n = model.columns.length;
    // Weights and scratch past half the kernels' memory bound (~1 GiB) are scored in JavaScript.
    if (!compiledModule || !webAssembly || n === 0 || n * n * 4 + n * 8 > MAX_KERNEL_MEMORY_BYTES / 2)
      return null;
    try {
      const instance = new webAssembly.Instance(compiledModule, {});
      return new WasmEaseScorer(
        model,
        instance.exports.accumulate as (...args: number[]) => void,
        instance.exports.memory as WasmMemory,
      );
    } catch {
      // Memory could not grow (an address space limit): score in JavaScript.
      return null;
    }
  }

  private reserve(bytes: number): void {
    growMemoryTo(this.memory, bytes);
  }

  /**
   * easeColumnScores(model, columnOf, items, ratings, out), bit for bit; false (and `out` untouched)
   * when the memory for this many ratings cannot be had, for the caller to score in JavaScript.
   */
  columnScores(
    columnOf: Int32Array,
    items: ArrayLike<number>,
    ratings: ArrayLike<number>,
    out: Float64Array,
  ): boolean {
    const { model, n } = this;
    const mean = encodingMean(model.encoding, ratings);
    if (items.length > this.scratchRows) {
      try {
        this.reserve(this.scratchOffset + items.length * 12 + 16);
      } catch {
        return false;
      }
      this.scratchRows = items.length;
    }
    const buffer = this.memory.buffer;
    const valuesOffset = this.scratchOffset;
    const rowsOffset = valuesOffset + this.scratchRows * 8;
    const values = new Float64Array(buffer, valuesOffset, this.scratchRows);
    const rows = new Int32Array(buffer, rowsOffset, this.scratchRows);
    // The rows easeColumnScores adds, in its order, with the values it multiplies them by.
    let count = 0;
    for (let r = 0; r < items.length; r++) {
      const column = columnOf[items[r]];
      if (column < 0) continue;
      const value = encodeRating(model.encoding, ratings[r], mean);
      if (value === 0) continue;
      rows[count] = column;
      values[count] = value;
      count++;
    }
    const scores = new Float64Array(buffer, this.outOffset, n);
    scores.fill(0);
    this.run(0, this.outOffset, rowsOffset, valuesOffset, count, n);
    out.set(scores);
    return true;
  }
}
