export type EmbedderProvider = 'transformers' | 'use-lite';

export interface EmbedOptions {
  /**
   * Work nobody waits on (a first index build, which nothing is served from yet): a backend that
   * embeds on threads of its own runs it at a lower scheduling priority, so the first model's
   * training and the requests being served get the cores first. Vectors are the same either way.
   */
  background?: boolean;
}

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
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  dispose?(): Promise<void>;
}
