import type { BiasedMfParameters } from './biased-mf';
import type { RatingTriples, RegularizationWeights, SgdRates } from './sgd';
import {
  I32,
  F64,
  V128,
  VOID,
  uleb,
  sleb,
  vector,
  section,
  sharedMemoryImport,
  utf8,
} from '../../wasm-encoding';

/**
 * The SGD sweep of sgd.ts as a WebAssembly SIMD function: four factors per instruction instead of
 * one, and no bounds check per element, which is what a JavaScript loop over typed arrays cannot
 * avoid. It computes the same update as sgdSweep, but in float32 where sgdSweep uses float64
 * temporaries, so the two kernels agree to float32 rounding, not bit for bit.
 *
 * The module is assembled here byte by byte (the repository has no WebAssembly toolchain). Every
 * array it touches must live in one shared WebAssembly.Memory (see WasmArena), so that worker
 * threads can run it on the same model.
 */

/**
 * The slice of the WebAssembly JS API used here. The project's lib settings (ES2023, no DOM) ship no
 * WebAssembly declarations, although Node provides the global.
 */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
}
const webAssembly = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;

function f64Bytes(value: number): number[] {
  return Array.from(new Uint8Array(new Float64Array([value]).buffer));
}

/** The handful of instructions the sweep needs, named as in the text format. */
const op = {
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  f64: (value: number) => [0x44, ...f64Bytes(value)],
  block: [0x02, VOID],
  loop: [0x03, VOID],
  ifF64: [0x04, F64],
  else: [0x05],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  i32Load: [0x28, 2, 0],
  f32Load: [0x2a, 2, 0],
  f64Load: [0x2b, 3, 0],
  f64Store: [0x39, 3, 0],
  i32Eqz: [0x45],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  v128Load: [0xfd, 0x00, 4, 0],
  v128Store: [0xfd, 0x0b, 4, 0],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f32x4Splat: [0xfd, 0x13],
  f32x4ExtractLane: (lane: number) => [0xfd, 0x1f, lane],
  f32x4Add: [0xfd, ...uleb(228)],
  f32x4Mul: [0xfd, ...uleb(230)],
};

// Parameters (byte offsets into memory, then scalars) and locals of the sweep function.
const P = 0;
const Q = 1;
const USER_BIAS = 2;
const ITEM_BIAS = 3;
const USERS = 4;
const ITEMS = 5;
const RATINGS = 6;
const ORDER = 7;
const START = 8;
const END = 9;
const K = 10;
const MU = 11;
const LR_BIAS = 12;
const BIAS_DECAY = 13;
const LR_FACTOR = 14;
const FACTOR_DECAY = 15;
const USER_WEIGHTS = 16;
const ITEM_WEIGHTS = 17;
const PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, I32, I32];
const N = 18;
const INDEX = 19;
const USER = 20;
const ITEM = 21;
const PTR_P = 22;
const PTR_Q = 23;
const P_END = 24;
const ROW_BYTES = 25;
const ACC = 26;
const ERROR = 27;
const SSE = 28;
const BU = 29;
const BI = 30;
const UW = 31;
const IW = 32;
const STEP = 33;
const P_SHRINK = 34;
const Q_SHRINK = 35;
const PV = 36;
const QV = 37;
const DOT = 38;
const LOCALS: [number, number][] = [
  [8, I32],
  [1, V128],
  [6, F64],
  [5, V128],
  [1, F64],
];

/** address of element `index` (a local) of the array at byte offset `base` (a param), 2^shift bytes each. */
const element = (base: number, index: number, shift: number) => [
  ...op.get(base),
  ...op.get(index),
  ...op.i32(shift),
  ...op.i32Shl,
  ...op.i32Add,
];

/** weight = base === 0 ? 1 : f64[base + row·8] */
const weightOrOne = (base: number, row: number) => [
  ...op.get(base),
  ...op.i32Eqz,
  ...op.ifF64,
  ...op.f64(1),
  ...op.else,
  ...element(base, row, 3),
  ...op.f64Load,
  ...op.end,
];

/** splat(f32(1 − factorDecay · weight)) */
const shrinkVector = (weight: number) => [
  ...op.f64(1),
  ...op.get(FACTOR_DECAY),
  ...op.get(weight),
  ...op.f64Mul,
  ...op.f64Sub,
  ...op.f32DemoteF64,
  ...op.f32x4Splat,
];

/** bias[row] = value + lrBias·error − biasDecay·weight·value */
const biasUpdate = (base: number, row: number, value: number, weight: number) => [
  ...element(base, row, 3),
  ...op.get(value),
  ...op.get(LR_BIAS),
  ...op.get(ERROR),
  ...op.f64Mul,
  ...op.f64Add,
  ...op.get(BIAS_DECAY),
  ...op.get(weight),
  ...op.f64Mul,
  ...op.get(value),
  ...op.f64Mul,
  ...op.f64Sub,
  ...op.f64Store,
];

/** p += 16 bytes; q += 16 bytes; loop again while p < pEnd: the tail of both four-lane loops over a factor row. */
const nextFourLanes = [
  ...op.get(PTR_P),
  ...op.i32(16),
  ...op.i32Add,
  ...op.set(PTR_P),
  ...op.get(PTR_Q),
  ...op.i32(16),
  ...op.i32Add,
  ...op.set(PTR_Q),
  ...op.get(PTR_P),
  ...op.get(P_END),
  ...op.i32LtU,
  ...op.brIf(0),
];

const laneSum = [0, 1, 2, 3].flatMap((lane) => [
  ...op.get(ACC),
  ...op.f32x4ExtractLane(lane),
  ...op.f64PromoteF32,
  ...(lane > 0 ? op.f64Add : []),
]);

const SWEEP_BODY: number[] = [
  ...op.get(K),
  ...op.i32(2),
  ...op.i32Shl,
  ...op.set(ROW_BYTES),
  ...op.get(START),
  ...op.set(N),
  ...op.block,
  ...op.get(N),
  ...op.get(END),
  ...op.i32GeU,
  ...op.brIf(0),
  ...op.loop,
  // index = order[n]; user = users[index]; item = items[index]
  ...element(ORDER, N, 2),
  ...op.i32Load,
  ...op.set(INDEX),
  ...element(USERS, INDEX, 2),
  ...op.i32Load,
  ...op.set(USER),
  ...element(ITEMS, INDEX, 2),
  ...op.i32Load,
  ...op.set(ITEM),
  // p = P + user·rowBytes; q = Q + item·rowBytes; pEnd = p + rowBytes
  ...op.get(P),
  ...op.get(USER),
  ...op.get(ROW_BYTES),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.tee(PTR_P),
  ...op.get(ROW_BYTES),
  ...op.i32Add,
  ...op.set(P_END),
  ...op.get(Q),
  ...op.get(ITEM),
  ...op.get(ROW_BYTES),
  ...op.i32Mul,
  ...op.i32Add,
  ...op.set(PTR_Q),
  // acc = Σ p·q, four lanes at a time
  ...op.v128Zero,
  ...op.set(ACC),
  ...op.loop,
  ...op.get(ACC),
  ...op.get(PTR_P),
  ...op.v128Load,
  ...op.get(PTR_Q),
  ...op.v128Load,
  ...op.f32x4Mul,
  ...op.f32x4Add,
  ...op.set(ACC),
  ...nextFourLanes,
  ...op.end,
  ...laneSum,
  ...op.set(DOT),
  // error = r − (μ + b_u + b_i + dot); sse += error²
  ...element(USER_BIAS, USER, 3),
  ...op.f64Load,
  ...op.set(BU),
  ...element(ITEM_BIAS, ITEM, 3),
  ...op.f64Load,
  ...op.set(BI),
  ...element(RATINGS, INDEX, 2),
  ...op.f32Load,
  ...op.f64PromoteF32,
  ...op.get(MU),
  ...op.get(BU),
  ...op.f64Add,
  ...op.get(BI),
  ...op.f64Add,
  ...op.get(DOT),
  ...op.f64Add,
  ...op.f64Sub,
  ...op.set(ERROR),
  ...op.get(SSE),
  ...op.get(ERROR),
  ...op.get(ERROR),
  ...op.f64Mul,
  ...op.f64Add,
  ...op.set(SSE),
  ...weightOrOne(USER_WEIGHTS, USER),
  ...op.set(UW),
  ...weightOrOne(ITEM_WEIGHTS, ITEM),
  ...op.set(IW),
  ...biasUpdate(USER_BIAS, USER, BU, UW),
  ...biasUpdate(ITEM_BIAS, ITEM, BI, IW),
  // p' = shrink_u·p + step·q; q' = shrink_i·q + step·p (old values), four lanes at a time
  ...op.get(LR_FACTOR),
  ...op.get(ERROR),
  ...op.f64Mul,
  ...op.f32DemoteF64,
  ...op.f32x4Splat,
  ...op.set(STEP),
  ...shrinkVector(UW),
  ...op.set(P_SHRINK),
  ...shrinkVector(IW),
  ...op.set(Q_SHRINK),
  ...op.get(P_END),
  ...op.get(ROW_BYTES),
  ...op.i32Sub,
  ...op.set(PTR_P),
  ...op.get(PTR_Q),
  ...op.get(ROW_BYTES),
  ...op.i32Sub,
  ...op.set(PTR_Q),
  ...op.loop,
  ...op.get(PTR_P),
  ...op.v128Load,
  ...op.set(PV),
  ...op.get(PTR_Q),
  ...op.v128Load,
  ...op.set(QV),
  ...op.get(PTR_P),
  ...op.get(P_SHRINK),
  ...op.get(PV),
  ...op.f32x4Mul,
  ...op.get(STEP),
  ...op.get(QV),
  ...op.f32x4Mul,
  ...op.f32x4Add,
  ...op.v128Store,
  ...op.get(PTR_Q),
  ...op.get(Q_SHRINK),
  ...op.get(QV),
  ...op.f32x4Mul,
  ...op.get(STEP),
  ...op.get(PV),
  ...op.f32x4Mul,
  ...op.f32x4Add,
  ...op.v128Store,
  ...nextFourLanes,
  ...op.end,
  // next rating
  ...op.get(N),
  ...op.i32(1),
  ...op.i32Add,
  ...op.tee(N),
  ...op.get(END),
  ...op.i32LtU,
  ...op.brIf(0),
  ...op.end,
  ...op.end,
  ...op.get(SSE),
  ...op.end,
];

/** Largest memory the module accepts: the whole 32-bit address space (65536 pages of 64 KiB). */
const MAX_PAGES = 65536;

function sweepModuleBytes(): Uint8Array {
  const functionType = [0x60, ...vector(PARAMS.map((t) => [t])), ...vector([[F64]])];
  const locals = vector(LOCALS.map(([count, type]) => [...uleb(count), type]));
  const body = [...locals, ...SWEEP_BODY];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([functionType])),
    ...section(2, vector([sharedMemoryImport(MAX_PAGES)])),
    ...section(3, vector([uleb(0)])),
    ...section(7, vector([[...utf8('sweep'), 0x00, ...uleb(0)]])),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ]);
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly SIMD or shared memory is unavailable. */
export function wasmSgdModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      if (!webAssembly) throw new Error('no WebAssembly');
      compiled = new webAssembly.Module(sweepModuleBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/**
 * Typed arrays carved out of one shared WebAssembly.Memory, 16-byte aligned, by a bump allocator.
 * Offset 0 is never handed out, so the kernel can read 0 as "no array".
 */
export class WasmArena {
  readonly memory: WasmMemory;
  private next = 16;

  constructor(readonly bytes: number) {
    const pages = Math.ceil((bytes + 16) / 65536);
    if (pages > MAX_PAGES) throw new RangeError(`${bytes} bytes do not fit a 32-bit WebAssembly memory`);
    if (!webAssembly) throw new Error('WebAssembly is not available');
    this.memory = new webAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  }

  /** Bytes an arena needs for arrays of these byte sizes (with alignment padding). */
  static sizeFor(byteLengths: readonly number[]): number {
    return byteLengths.reduce((total, length) => total + Math.ceil(length / 16) * 16, 16);
  }

  private take(byteLength: number): number {
    const offset = this.next;
    this.next += Math.ceil(byteLength / 16) * 16;
    if (this.next > this.memory.buffer.byteLength) throw new RangeError('WasmArena is full');
    return offset;
  }

  float32(length: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(length * 4), length);
  }

  float64(length: number): Float64Array {
    return new Float64Array(this.memory.buffer, this.take(length * 8), length);
  }

  int32(length: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(length * 4), length);
  }

  /** Whether `array` is a view into this arena (so the kernel can address it). */
  owns(array: { buffer: ArrayBufferLike }): boolean {
    return array.buffer === this.memory.buffer;
  }
}

type SweepFunction = (...args: number[]) => number;

/** The SIMD sweep bound to one arena's memory; every array passed must live in that arena. */
export class WasmSgdKernel {
  private constructor(
    private readonly sweepFunction: SweepFunction,
    private readonly memory: WasmMemory,
  ) {}

  /** null when WebAssembly SIMD is unavailable (the caller then uses the JavaScript kernel). */
  static forMemory(memory: WasmMemory): WasmSgdKernel | null {
    const module = wasmSgdModule();
    if (!module || !webAssembly) return null;
    const instance = new webAssembly.Instance(module, { env: { memory } });
    return new WasmSgdKernel(instance.exports.sweep as SweepFunction, memory);
  }

  /** Factor rows are processed four floats at a time, so k must be a multiple of 4. */
  static supports(k: number): boolean {
    return k > 0 && k % 4 === 0;
  }

  private offsetOf(array: Int32Array | Float32Array | Float64Array, what: string): number {
    if (array.buffer !== this.memory.buffer) throw new Error(`${what} does not live in the kernel's memory`);
    return array.byteOffset;
  }

  /** Same contract as sgdSweep (returns the squared errors met before each update). */
  sweep(
    model: BiasedMfParameters,
    triples: RatingTriples,
    order: Int32Array,
    start: number,
    end: number,
    rates: SgdRates,
    weights: RegularizationWeights | null = null,
  ): number {
    if (!WasmSgdKernel.supports(model.k))
      throw new Error(`the SIMD kernel needs k % 4 === 0, got ${model.k}`);
    if (start >= end) return 0;
    return this.sweepFunction(
      this.offsetOf(model.userFactors, 'userFactors'),
      this.offsetOf(model.itemFactors, 'itemFactors'),
      this.offsetOf(model.userBias, 'userBias'),
      this.offsetOf(model.itemBias, 'itemBias'),
      this.offsetOf(triples.users, 'users'),
      this.offsetOf(triples.items, 'items'),
      this.offsetOf(triples.ratings, 'ratings'),
      this.offsetOf(order, 'order'),
      start,
      end,
      model.k,
      model.mu,
      rates.lrBias,
      rates.lrBias * rates.regBias,
      rates.lrFactor,
      rates.lrFactor * rates.regFactor,
      weights ? this.offsetOf(weights.user, 'user weights') : 0,
      weights ? this.offsetOf(weights.item, 'item weights') : 0,
    );
  }
}
