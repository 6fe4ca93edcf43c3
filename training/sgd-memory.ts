/**
 * Where SGD's arrays live. The JavaScript kernel reads ordinary typed arrays (SharedArrayBuffers when
 * worker threads share them); the SIMD kernel needs all of them inside one WebAssembly.Memory, which
 * WasmArena provides behind the same interface.
 */
export interface ArrayAllocator {
  float32(length: number): Float32Array;
  float64(length: number): Float64Array;
  int32(length: number): Int32Array;
}

export const heapAllocator: ArrayAllocator = {
  float32: (length) => new Float32Array(length),
  float64: (length) => new Float64Array(length),
  int32: (length) => new Int32Array(length),
};

/** One SharedArrayBuffer per array, so worker threads can update them in place. */
export const sharedAllocator: ArrayAllocator = {
  float32: (length) => new Float32Array(new SharedArrayBuffer(4 * length)),
  float64: (length) => new Float64Array(new SharedArrayBuffer(8 * length)),
  int32: (length) => new Int32Array(new SharedArrayBuffer(4 * length)),
};

type TypedArray = Int32Array | Float32Array | Float64Array;

/** How a worker thread finds an array in shared memory. */
export interface SharedArrayRef {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly length: number;
}

export function sharedRef(array: TypedArray, what: string): SharedArrayRef {
  if (!(array.buffer instanceof SharedArrayBuffer)) {
    throw new Error(`${what} must live in shared memory to be used by worker threads`);
  }
  return { buffer: array.buffer, byteOffset: array.byteOffset, length: array.length };
}

export const float32View = (ref: SharedArrayRef) => new Float32Array(ref.buffer, ref.byteOffset, ref.length);
export const float64View = (ref: SharedArrayRef) => new Float64Array(ref.buffer, ref.byteOffset, ref.length);
export const int32View = (ref: SharedArrayRef) => new Int32Array(ref.buffer, ref.byteOffset, ref.length);
