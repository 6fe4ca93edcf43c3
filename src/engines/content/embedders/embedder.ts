export type EmbedderProvider = 'transformers' | 'use-lite';

/**
 * A sentence-embedding backend. Implementations return one L2-normalised vector per input text, in input
 * order, so cosine similarity is a plain dot product. Callers may pass any batch size: implementations
 * split it into whatever chunks their backend handles well.
 */
export interface Embedder {
  readonly provider: EmbedderProvider;
  /** Identifies the weights (and variant) that produced the vectors; stored alongside them to detect stale rows. */
  readonly modelId: string;
  readonly dimension: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  dispose?(): Promise<void>;
}
