/** Scales `vector` in place to unit L2 norm and returns it. */
export function l2NormalizeInPlace(vector: Float32Array): Float32Array {
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares);
  // A zero (or NaN) vector has no direction; passing it on would silently poison similarity search.
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new Error(`Cannot L2-normalise an embedding whose norm is ${norm}`);
  }
  for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}

/** Cosine similarity of two vectors of equal length (equals the dot product for normalised vectors). */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Vector lengths differ: ${a.length} vs ${b.length}`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return dot / Math.sqrt(normA * normB);
}

/**
 * Rejects inputs the backends mishandle silently: Universal Sentence Encoder drops the row of an empty
 * string (shifting every later vector), and a blank text has no meaning to embed anyway.
 */
export function assertEmbeddableTexts(texts: readonly string[]): void {
  if (!Array.isArray(texts)) throw new TypeError('embed() expects an array of strings');
  texts.forEach((text, index) => {
    if (typeof text !== 'string') throw new TypeError(`embed() input #${index} is not a string`);
    if (text.trim() === '') throw new RangeError(`embed() input #${index} is blank`);
  });
}

export function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  assertPositiveInteger('chunk size', size);
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
