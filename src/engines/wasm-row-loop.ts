/**
 * What the row kernels share (content/wasm-dots.ts: float32 and int8 rows against a query;
 * collaborative/kernels/wasm-factor-dots.ts: factor rows against a user in float64): the signature
 * f(rows, count, query, rowBytes, out) in byte offsets, its locals, the loop over rows, and the
 * compiled module with instances of their own memory.
 */
import {
  growMemoryTo,
  I32,
  MAX_KERNEL_MEMORY_BYTES,
  op,
  singleFunctionModule,
  V128,
  WASM_PAGE_BYTES,
  webAssembly,
  type WasmMemory,
} from './wasm-encoding';

// Parameters, then locals.
export const ROWS = 0;
export const COUNT = 1;
export const QUERY = 2;
export const ROW_BYTES = 3;
export const OUT = 4;
export const END = 5;
export const ROW_END = 6;
/** Where the query is read, advanced with the row. */
export const Q = 7;
export const ACC0 = 8;
export const ACC1 = 9;
const ROW_KERNEL_PARAMS = [I32, I32, I32, I32, I32];
const ROW_KERNEL_LOCALS: [number, number][] = [
  [3, I32],
  [2, V128],
];

const f32Store = [0x38, 2, 0];

/**
 * The body of rowKernel(rows, count, query, rowBytes, out): for each row, two accumulators over its
 * bytes (`inner` consumes `rowStep` bytes of the row at local ROWS and `queryStep` of the query at
 * local Q, into ACC0 and ACC1), then the two added (`addVectors`) and their `lanes` lanes summed in
 * lane order (`extractLane`, `addScalars`, and `toFloat` where the sum is not float32 already) and
 * stored as out[r] (float32). count ≥ 1; rowBytes a multiple of rowStep.
 */
export function rowLoopBody(kernel: {
  inner: number[];
  lanes: 2 | 4;
  rowStep: number;
  queryStep: number;
  addVectors: number[];
  extractLane: (lane: number) => number[];
  addScalars: number[];
  toFloat: number[];
}): number[] {
  const advance = (local: number, bytes: number) => [
    ...op.get(local),
    ...op.i32(bytes),
    ...op.i32Add,
    ...op.set(local),
  ];
  const lanes = [1, 2, 3]
    .slice(0, kernel.lanes - 1)
    .flatMap((lane) => [...op.get(ACC0), ...kernel.extractLane(lane), ...kernel.addScalars]);
  return [
    ...op.get(ROWS),
    ...op.get(COUNT),
    ...op.get(ROW_BYTES),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.set(END),
    ...op.loop,
    ...op.v128Zero,
    ...op.set(ACC0),
    ...op.v128Zero,
    ...op.set(ACC1),
    ...op.get(QUERY),
    ...op.set(Q),
    ...op.get(ROWS),
    ...op.get(ROW_BYTES),
    ...op.i32Add,
    ...op.set(ROW_END),
    ...op.loop,
    ...kernel.inner,
    ...advance(ROWS, kernel.rowStep),
    ...advance(Q, kernel.queryStep),
    ...op.get(ROWS),
    ...op.get(ROW_END),
    ...op.i32LtU,
    ...op.brIf(0),
    ...op.end,
    ...op.get(OUT),
    ...op.get(ACC0),
    ...op.get(ACC1),
    ...kernel.addVectors,
    ...op.tee(ACC0),
    ...kernel.extractLane(0),
    ...lanes,
    ...kernel.toFloat,
    ...f32Store,
    ...advance(OUT, 4),
    ...op.get(ROWS),
    ...op.get(END),
    ...op.i32LtU,
    ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
}

/** An instance of a row kernel and the memory it runs in. */
export interface RowKernelInstance {
  run: (...args: number[]) => void;
  buffer: ArrayBufferLike;
  /** The shared memory itself, for another thread's instance (attach); null for a memory of its own. */
  memory: WasmMemory | null;
}

/**
 * One kernel, compiled on first use (null where WebAssembly SIMD is missing), and instances of it
 * with their own memory of at least `bytes`, never grown afterwards (views of it stay valid). With
 * `shared`, the memory is a shared one of the pages needed, with `spareBytes` of address space
 * reserved to grow into (a shared memory never moves: views stay valid), so its buffer is a
 * SharedArrayBuffer that worker threads read without a copy (the vote pool's workers read the rows),
 * and `attach` makes an instance over a shared memory another thread created, which runs the same
 * code on the same bytes.
 */
export function rowKernel(name: string, body: number[], options: { shared?: boolean } = {}) {
  let compiled: object | null | undefined;
  const compile = (): object | null => {
    if (compiled === undefined) {
      compiled = null;
      try {
        if (webAssembly)
          compiled = new webAssembly.Module(
            singleFunctionModule(name, ROW_KERNEL_PARAMS, ROW_KERNEL_LOCALS, body, {
              sharedMemory: options.shared,
            }),
          );
      } catch {
        // No SIMD (or no shared memory) in this engine: the JavaScript loop scores instead.
      }
    }
    return compiled;
  };
  const instanceOver = (memory: WasmMemory): RowKernelInstance => {
    const instance = new webAssembly!.Instance(compile()!, { env: { memory } });
    return { run: instance.exports[name] as (...args: number[]) => void, buffer: memory.buffer, memory };
  };
  /** `spareBytes`: how far a shared memory may later grow (for other threads' scratch, say). */
  const create = (bytes: number, spareBytes = 0): RowKernelInstance | null => {
    if (!compile() || !webAssembly || bytes + spareBytes > MAX_KERNEL_MEMORY_BYTES) return null;
    try {
      if (options.shared) {
        const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
        const maximum = pages + Math.ceil(spareBytes / WASM_PAGE_BYTES);
        return instanceOver(new webAssembly.Memory({ initial: pages, maximum, shared: true }));
      }
      const instance = new webAssembly.Instance(compiled!, {});
      const memory = instance.exports.memory as WasmMemory;
      growMemoryTo(memory, bytes);
      return {
        run: instance.exports[name] as (...args: number[]) => void,
        buffer: memory.buffer,
        memory: null,
      };
    } catch {
      // Out of address space: JavaScript memory instead.
      return null;
    }
  };
  /** An instance over `memory` (a shared memory one of this kernel's instances made); null if it cannot be. */
  const attach = (memory: WasmMemory): RowKernelInstance | null => {
    if (!options.shared || !compile() || !webAssembly) return null;
    try {
      return instanceOver(memory);
    } catch {
      return null;
    }
  };
  return Object.assign(create, { attach });
}
