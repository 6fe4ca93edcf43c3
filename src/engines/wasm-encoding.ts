/**
 * The WebAssembly binary format's encodings, shared by the kernels this project assembles itself
 * (the SGD sweep, the content vote, EASE's column scores): each builds its module from opcodes, so
 * no compiler or .wasm file is part of the build.
 */

/** Value types. */
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
/** The empty block type. */
export const VOID = 0x40;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0);
  return bytes;
}

/** Signed LEB128 (i32.const immediates). */
export function sleb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** A length-prefixed vector of encoded items. */
export const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A section: its id, then its size-prefixed body. */
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
/** A name (an export's, an import's). */
export const utf8 = (text: string): number[] => vector([...new TextEncoder().encode(text)].map((b) => [b]));

/** The largest memory a single-function module may import: 2 GiB, which keeps every byte offset a positive i32. */
export const MAX_IMPORTED_PAGES = 32768;

/** An import entry for a shared memory `env.memory` of at least one page and at most `maxPages`. */
export const sharedMemoryImport = (maxPages: number): number[] => [
  ...utf8('env'),
  ...utf8('memory'),
  0x02,
  0x03,
  ...uleb(1),
  ...uleb(maxPages),
];

/**
 * A module of one function (no results) exported as `name`, and a memory exported as `memory`: by
 * default its own, of at least one page, grown by the caller (the shape of the serving kernels);
 * with `sharedMemory`, a shared memory it imports as `env.memory` instead, so that the memory can be
 * created at its final size and its buffer (a SharedArrayBuffer) read by other threads.
 */
export function singleFunctionModule(
  name: string,
  params: readonly number[],
  locals: readonly (readonly [count: number, type: number])[],
  body: readonly number[],
  options: { sharedMemory?: boolean } = {},
): Uint8Array {
  const functionType = [0x60, ...vector(params.map((t) => [t])), ...vector([])];
  const code = [...vector(locals.map(([count, type]) => [...uleb(count), type])), ...body];
  const memory = options.sharedMemory ? section(2, vector([sharedMemoryImport(MAX_IMPORTED_PAGES)])) : [];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([functionType])),
    ...memory,
    ...section(3, vector([uleb(0)])),
    ...(options.sharedMemory ? [] : section(5, vector([[0x00, ...uleb(1)]]))),
    ...section(
      7,
      vector([
        [...utf8(name), 0x00, ...uleb(0)],
        [...utf8('memory'), 0x02, ...uleb(0)],
      ]),
    ),
    ...section(10, vector([[...uleb(code.length), ...code]])),
  ]);
}

/** The instructions the serving kernels use, encoded. */
export const op = {
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32: (value: number) => [0x41, ...sleb(value)],
  block: [0x02, VOID],
  loop: [0x03, VOID],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  i32Load: [0x28, 2, 0],
  f32Load: [0x2a, 2, 0],
  f64Load: [0x2b, 3, 0],
  f64Store: [0x39, 3, 0],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  f64Add: [0xa0],
  f64Mul: [0xa2],
  f64PromoteF32: [0xbb],
  /** v128.load64_splat with a byte offset. */
  v128Load64Splat: (offset: number) => [0xfd, 0x0a, 3, ...uleb(offset)],
  /** v128.load32_splat with a byte offset. */
  v128Load32Splat: (offset: number) => [0xfd, 0x09, 2, ...uleb(offset)],
  f64x2Splat: [0xfd, ...uleb(0x14)],
  f64x2PromoteLowF32x4: [0xfd, ...uleb(0x5f)],
  f32x4Add: [0xfd, ...uleb(228)],
  f32x4Mul: [0xfd, ...uleb(230)],
  f64x2Add: [0xfd, ...uleb(240)],
  f64x2Mul: [0xfd, ...uleb(242)],
  /** v128.load with a byte offset; alignment hint 16 bytes. */
  v128Load: (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, 0x0b, 4, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
};

/** What the kernels need of the WebAssembly global (absent in some runtimes: they fall back to JavaScript). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** A WebAssembly memory page. */
export const WASM_PAGE_BYTES = 65536;

/** The most memory a kernel instance asks for (2 GiB less a page); past it the work stays in JavaScript. */
export const MAX_KERNEL_MEMORY_BYTES = 2 ** 31 - WASM_PAGE_BYTES;

/** Grows `memory` to hold at least `bytes` (throws where the address space or the engine refuses). */
export function growMemoryTo(memory: WasmMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
}
export interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
export const webAssembly = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
