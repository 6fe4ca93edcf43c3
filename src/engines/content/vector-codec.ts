/**
 * Converting vectors between Float32Array and what Postgres/pgvector speaks. Vectors go in as pgvector text
 * literals and come back as `vector_send()` bytes: hex-decoding a bytea is far cheaper than parsing the
 * decimal text of hundreds of floats per row.
 */

/** Nine significant digits round-trip any float32 exactly, and are half the length of a double's text. */
const FLOAT32_DIGITS = 9;

export function toVectorLiteral(vector: ArrayLike<number>): string {
  const parts = new Array<string>(vector.length);
  for (let i = 0; i < vector.length; i++) {
    const value = vector[i];
    if (!Number.isFinite(value))
      throw new RangeError(`vector component ${i} is ${value}; pgvector needs finite values`);
    parts[i] = value.toPrecision(FLOAT32_DIGITS);
  }
  return `[${parts.join(',')}]`;
}

/** Decodes pgvector's binary send format: int16 dimension, int16 unused, then big-endian float4s. */
export function fromVectorSend(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dimension = view.getUint16(0);
  if (bytes.byteLength !== 4 + 4 * dimension)
    throw new Error(`vector_send payload of ${bytes.byteLength} bytes does not hold ${dimension} floats`);
  const vector = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) vector[i] = view.getFloat32(4 + 4 * i);
  return vector;
}

export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`vector lengths differ: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
