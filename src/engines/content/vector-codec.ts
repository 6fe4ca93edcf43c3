/**
 * Converting vectors between Float32Array and what Postgres/pgvector speaks. Vectors go in as pgvector text
 * literals and come back as `vector_send()` bytes: hex-decoding a bytea is far cheaper than parsing the
 * decimal text of hundreds of floats per row.
 */

import { float32Text } from '../../db/float32-text';

export function toVectorLiteral(vector: ArrayLike<number>): string {
  return `[${float32Text(vector)}]`;
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
