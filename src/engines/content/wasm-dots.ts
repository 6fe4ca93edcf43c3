/**
 * Row · query dot products for the in-process vector index (vector-index.ts), in WebAssembly SIMD:
 * four float32 lanes, two accumulators per row, float32 sums. Retrieval only ranks by these; the
 * similarities a caller reports are computed again in float64 (searchVectorIndex).
 *
 * Why: a 512-d dot product cost 0.8–1.3 µs in the JavaScript loop here (62K rows: 50–80 ms a full
 * scan), too slow for a search to beat PostgreSQL's HNSW (4.6–6.6 ms at 25M).
 *
 * The rows live in the module's memory, allocated once for the index; it is a shared memory, which
 * only grows (by another thread's room for its query and scores, RowScorer.share) and never moves,
 * so views of the rows (the vectors the content engine votes with) stay valid as long as the index
 * lives.
 */
import { op, WASM_PAGE_BYTES, type WasmMemory } from '../wasm-encoding';
import { ACC0, ACC1, Q, ROWS, rowKernel, type RowKernelInstance, rowLoopBody } from '../wasm-row-loop';
import { dotAt } from './vector-codec';

// dots(rows, count, query, rowBytes, out): byte offsets and sizes (wasm-row-loop.ts).

const f32x4Add = [0xfd, 0xe4, 0x01];
const f32x4Mul = [0xfd, 0xe6, 0x01];
const f32x4ExtractLane = (lane: number) => [0xfd, 0x1f, lane];
const f32Add = [0x92];

/** acc += row[offset] · query[offset] for one 16-byte slice. */
const madd = (acc: number, offset: number) => [
  ...op.get(acc),
  ...op.get(ROWS),
  ...op.v128Load(offset),
  ...op.get(Q),
  ...op.v128Load(offset),
  ...f32x4Mul,
  ...f32x4Add,
  ...op.set(acc),
];

/** out[r] = Σ_k rows[r][k] · query[k] over float32 rows; rowBytes a multiple of 32. */
const BODY = rowLoopBody({
  inner: [...madd(ACC0, 0), ...madd(ACC1, 16)],
  lanes: 4,
  rowStep: 32,
  queryStep: 32,
  addVectors: f32x4Add,
  extractLane: f32x4ExtractLane,
  addScalars: f32Add,
  toFloat: [],
});

// Shared: the vote pool's workers read the rows where they are (vote-pool.ts).
const dotsKernel = rowKernel('dots', BODY, { shared: true });

/** Memory other threads can read where SharedArrayBuffer exists, else plain memory. */
function sharedOrPlainBuffer(bytes: number): ArrayBufferLike {
  return typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * `rowCount` rows of `dimension` float32 components and the scores of a query against any run of
 * them. `rows` is where callers write the rows (once, before scoring); its buffer is a
 * SharedArrayBuffer where the runtime has one.
 */
export interface RowScorer {
  readonly rows: Float32Array;
  readonly simd: boolean;
  /** The query the next scores are against (copied). */
  setQuery(query: Float32Array): void;
  /** Scores of rows first … first + count − 1; the view is valid until the next call. */
  score(first: number, count: number): Float32Array;
  /** The score of row r alone (no view made: a search's second pass asks this per candidate). */
  scoreRow(r: number): number;
  /**
   * Room in the rows' shared memory for one more thread's query and scores, and what that thread
   * needs to score the same rows (rowScorerFromShare); null where the rows are not in a shared
   * WebAssembly memory or the room is used up.
   */
  share(): RowScorerShare | null;
}

/** Another thread's way to the rows of a RowScorer: their memory, and its own query and scores in it. */
export interface RowScorerShare {
  readonly memory: WasmMemory;
  readonly rowCount: number;
  readonly dimension: number;
  /** Byte offsets of this thread's query and scores (room no other thread uses). */
  readonly queryOffset: number;
  readonly outOffset: number;
}

/**
 * How many other threads' query and scores a shared scorer has room for: the memory's maximum is
 * reserved address space, grown into one room at a time (a worker and its replacements).
 */
export const SHARED_SCORER_ROOMS = 8;

class WasmRowScorer implements RowScorer {
  readonly simd = true;
  readonly rows: Float32Array;
  private readonly query: Float32Array;
  private readonly out: Float32Array;

  constructor(
    private readonly kernel: RowKernelInstance,
    private readonly rowCount: number,
    private readonly dimension: number,
    queryOffset: number,
    outOffset: number,
  ) {
    this.rows = new Float32Array(kernel.buffer, 0, rowCount * dimension);
    this.query = new Float32Array(kernel.buffer, queryOffset, dimension);
    this.out = new Float32Array(kernel.buffer, outOffset, rowCount);
  }

  setQuery(query: Float32Array): void {
    this.query.set(query);
  }

  score(first: number, count: number): Float32Array {
    if (count === 0) return this.out.subarray(0, 0);
    const rowBytes = this.dimension * 4;
    this.kernel.run(first * rowBytes, count, this.query.byteOffset, rowBytes, this.out.byteOffset);
    return this.out.subarray(0, count);
  }

  scoreRow(r: number): number {
    const rowBytes = this.dimension * 4;
    this.kernel.run(r * rowBytes, 1, this.query.byteOffset, rowBytes, this.out.byteOffset);
    return this.out[0];
  }

  share(): RowScorerShare | null {
    const { memory } = this.kernel;
    if (!memory) return null;
    const room = roomBytes(this.rowCount, this.dimension);
    let start: number;
    try {
      // grow returns the old size in pages: the new room starts there, whoever else grows it.
      start = memory.grow(room / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
    } catch {
      return null;
    }
    return {
      memory,
      rowCount: this.rowCount,
      dimension: this.dimension,
      queryOffset: start,
      outOffset: start + this.dimension * 4,
    };
  }
}

/** One thread's query and scores, in whole pages (what share() grows the memory by). */
function roomBytes(rowCount: number, dimension: number): number {
  return Math.ceil(((dimension + rowCount) * 4) / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
}

class JsRowScorer implements RowScorer {
  readonly simd = false;
  readonly rows: Float32Array;
  private readonly out: Float32Array;
  private readonly query: Float32Array;

  constructor(
    rowCount: number,
    private readonly dimension: number,
  ) {
    this.rows = new Float32Array(sharedOrPlainBuffer(rowCount * dimension * 4));
    this.out = new Float32Array(rowCount);
    this.query = new Float32Array(dimension);
  }

  setQuery(query: Float32Array): void {
    this.query.set(query);
  }

  score(first: number, count: number): Float32Array {
    const d = this.dimension;
    for (let r = 0; r < count; r++) this.out[r] = dotAt(this.rows, (first + r) * d, this.query, 0, d);
    return this.out.subarray(0, count);
  }

  scoreRow(r: number): number {
    const d = this.dimension;
    return Math.fround(dotAt(this.rows, r * d, this.query, 0, d));
  }

  share(): null {
    return null;
  }
}

/**
 * A scorer for `rowCount` rows: WebAssembly SIMD where the engine has it and the dimension is a
 * multiple of 8 (512, 384 and 768 are), JavaScript otherwise. Each call owns its memory.
 */
export function createRowScorer(
  rowCount: number,
  dimension: number,
  options: { wasm?: boolean } = {},
): RowScorer {
  const rowBytes = rowCount * dimension * 4;
  const kernel =
    options.wasm === false || dimension % 8 !== 0
      ? null
      : dotsKernel(
          rowBytes + (dimension + rowCount) * 4,
          SHARED_SCORER_ROOMS * roomBytes(rowCount, dimension),
        );
  if (kernel) return new WasmRowScorer(kernel, rowCount, dimension, rowBytes, rowBytes + dimension * 4);
  return new JsRowScorer(rowCount, dimension);
}

/**
 * The rows of another thread's RowScorer, scored here by the same kernel (the same scores, bit for
 * bit) into this thread's own room; null where WebAssembly cannot attach to the memory.
 */
export function rowScorerFromShare(share: RowScorerShare): RowScorer | null {
  const kernel = dotsKernel.attach(share.memory);
  return (
    kernel && new WasmRowScorer(kernel, share.rowCount, share.dimension, share.queryOffset, share.outOffset)
  );
}

// dots8(rows, count, query, rowBytes, out): int8 rows against an int16 query, the
// int32 sums converted to float32. Same locals as dots.
const i16x8ExtendLowI8x16 = [0xfd, 0x87, 0x01];
const i16x8ExtendHighI8x16 = [0xfd, 0x88, 0x01];
const i32x4DotI16x8 = [0xfd, 0xba, 0x01];
const i32x4Add = [0xfd, 0xae, 0x01];
const i32x4ExtractLane = (lane: number) => [0xfd, 0x1b, lane];
const f32ConvertI32 = [0xb2];

/** acc += dot(half of the 16 row bytes at ROWS, widened, and 8 query values at Q + offset). */
const madd8 = (acc: number, extend: number[], offset: number) => [
  ...op.get(acc),
  ...op.get(ROWS),
  ...op.v128Load(0),
  ...extend,
  ...op.get(Q),
  ...op.v128Load(offset),
  ...i32x4DotI16x8,
  ...i32x4Add,
  ...op.set(acc),
];

/** out[r] = Σ_k rows8[r][k] · query16[k]; rowBytes (= dimension) a multiple of 16. */
const BODY8 = rowLoopBody({
  inner: [...madd8(ACC0, i16x8ExtendLowI8x16, 0), ...madd8(ACC1, i16x8ExtendHighI8x16, 16)],
  lanes: 4,
  rowStep: 16,
  queryStep: 32,
  addVectors: i32x4Add,
  extractLane: i32x4ExtractLane,
  addScalars: op.i32Add,
  toFloat: f32ConvertI32,
});

const dots8Kernel = rowKernel('dots8', BODY8);

/**
 * Rows quantized to int8 with one scale per column (component k of every row is divided by
 * columnScales[k], the column's largest magnitude over 127), scored against a query that carries
 * those scales: the scores are the dot products times one positive factor per query
 * (`queryFactor`), so rows rank by them with no multiply per row. Why per column: it serves the
 * index's projected rows, whose leading components are an order of magnitude larger than their
 * last ones, and a scale per row both spent the last components' resolution and cost a
 * multiply per row in JavaScript (14% of a similar-movies search on ml-latest-small).
 */
export interface QuantizedScorer {
  readonly simd: boolean;
  /** Quantizes row r from a float32 row. */
  setRow(r: number, row: Float32Array, offset?: number): void;
  /** The quantized rows (a view; copyQuantizedScorer makes another thread's scorer from them). */
  readonly quantizedRows: Int8Array;
  /** The column scales the rows were quantized with. */
  readonly scales: Float32Array;
  setQuery(query: Float32Array): void;
  /** What the scores are to be multiplied by for the dot products, for the last query set. */
  readonly queryFactor: number;
  /**
   * The dot products of rows first … first + count − 1 divided by queryFactor (int8 rows against
   * the int16 query, summed exactly in int32, then rounded to float32); valid until the next call.
   */
  score(first: number, count: number): Float32Array;
}

/** Each column's scale: its largest magnitude over `rowCount` rows of `dimension`, over 127. */
export function columnScales(rows: Float32Array, rowCount: number, dimension: number): Float32Array {
  const scales = new Float32Array(dimension);
  for (let r = 0; r < rowCount; r++)
    for (let k = 0; k < dimension; k++) scales[k] = Math.max(scales[k], Math.abs(rows[r * dimension + k]));
  for (let k = 0; k < dimension; k++) scales[k] /= 127;
  return scales;
}

class Quantized implements QuantizedScorer {
  private readonly inverseScales: Float32Array;
  private readonly carried: Float32Array;
  queryFactor = 0;

  constructor(
    readonly simd: boolean,
    readonly quantizedRows: Int8Array,
    private readonly query16: Int16Array,
    private readonly out: Float32Array,
    private readonly dimension: number,
    readonly scales: Float32Array,
    private readonly run: ((...args: number[]) => void) | null,
  ) {
    this.inverseScales = scales.map((scale) => (scale > 0 ? 1 / scale : 0));
    this.carried = new Float32Array(dimension);
  }

  setRow(r: number, row: Float32Array, offset = 0): void {
    const d = this.dimension;
    for (let k = 0; k < d; k++)
      this.quantizedRows[r * d + k] = Math.max(
        -127,
        Math.min(127, Math.round(row[offset + k] * this.inverseScales[k])),
      );
  }

  setQuery(query: Float32Array): void {
    const d = this.dimension;
    let largest = 0;
    for (let k = 0; k < d; k++) {
      this.carried[k] = query[k] * this.scales[k];
      largest = Math.max(largest, Math.abs(this.carried[k]));
    }
    // As fine as int16 and the int32 sums allow (|Σ| ≤ d · 127 · levels < 2³¹): with 127 levels, as
    // the rows have, the query's small components rounded away, and the first pass had to keep
    // 306 / 344 candidates for a movie / a taste profile at the calibrated recall on
    // ml-latest-small, against 288 / 265 with these.
    const levels = Math.min(32767, Math.floor((2 ** 31 - 1) / (127 * d)));
    this.queryFactor = largest / levels;
    const inverse = largest > 0 ? levels / largest : 0;
    for (let k = 0; k < d; k++) this.query16[k] = Math.round(this.carried[k] * inverse);
  }

  score(first: number, count: number): Float32Array {
    const out = this.out.subarray(0, count);
    if (count === 0) return out;
    const d = this.dimension;
    if (this.run)
      this.run(this.quantizedRows.byteOffset + first * d, count, this.query16.byteOffset, d, out.byteOffset);
    else
      for (let r = 0; r < count; r++) {
        let sum = 0;
        const offset = (first + r) * d;
        for (let k = 0; k < d; k++) sum += this.quantizedRows[offset + k] * this.query16[k];
        out[r] = sum;
      }
    return out;
  }
}

/**
 * An int8 scorer for `rowCount` rows with the given column scales (columnScales): WebAssembly SIMD
 * where available and dimension % 16 = 0.
 */
export function createQuantizedScorer(
  rowCount: number,
  dimension: number,
  scales: Float32Array,
  options: { wasm?: boolean } = {},
): QuantizedScorer {
  if (scales.length !== dimension)
    throw new RangeError(`${scales.length} column scales for ${dimension} columns`);
  // rows, then the query (int16, 16-byte aligned), then the scores.
  const queryOffset = Math.ceil((rowCount * dimension) / 16) * 16;
  const outOffset = queryOffset + dimension * 2;
  const kernel =
    options.wasm === false || dimension % 16 !== 0 ? null : dots8Kernel(outOffset + rowCount * 4);
  if (kernel)
    return new Quantized(
      true,
      new Int8Array(kernel.buffer, 0, rowCount * dimension),
      new Int16Array(kernel.buffer, queryOffset, dimension),
      new Float32Array(kernel.buffer, outOffset, rowCount),
      dimension,
      scales,
      kernel.run,
    );
  return new Quantized(
    false,
    new Int8Array(rowCount * dimension),
    new Int16Array(dimension),
    new Float32Array(rowCount),
    dimension,
    scales,
    null,
  );
}

/**
 * A scorer over a copy of `source`'s quantized rows, for another thread (the rows are an eighth of a
 * float32 row each: 4 MB for 62K movies on 64 directions, copied once per index): the same kernel
 * on the same bytes, so the same scores.
 */
export function copyQuantizedScorer(
  source: { quantizedRows: Int8Array; scales: Float32Array },
  rowCount: number,
  options: { wasm?: boolean } = {},
): QuantizedScorer {
  const dimension = source.scales.length;
  if (source.quantizedRows.length !== rowCount * dimension)
    throw new RangeError(`${source.quantizedRows.length} quantized values for ${rowCount} × ${dimension}`);
  const copy = createQuantizedScorer(rowCount, dimension, source.scales, options);
  copy.quantizedRows.set(source.quantizedRows);
  return copy;
}
