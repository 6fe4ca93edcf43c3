import type { VectorHit } from '../../src/engines/content/vector-index';

/** The bytes of each value: equal bit for bit, including the sign of zero. */
export function bits(values: Float64Array): number[] {
  return Array.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** Movie ids and the bytes of each similarity: equal bit for bit. */
export function hitBits(hits: readonly VectorHit[]): [number[], number[]] {
  return [hits.map((hit) => hit.movieId), bits(Float64Array.from(hits, (hit) => hit.similarity))];
}
