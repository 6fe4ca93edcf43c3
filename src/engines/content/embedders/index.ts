import { availableParallelism } from 'node:os';
import type { Embedder } from './embedder';
import { describeError } from './errors';
import { createUseLitePool } from './pool';
import { createTransformersEmbedder } from './transformers';
import { createUseLiteEmbedder } from './use-lite';

export type { Embedder, EmbedderProvider, EmbedOptions } from './embedder';
export { cosineSimilarity } from './vectors';
export { createTransformersEmbedder, DEFAULT_TRANSFORMERS_MODEL } from './transformers';
export type { TransformersEmbedderOptions } from './transformers';
export { createUseLiteEmbedder, USE_LITE_DIMENSION } from './use-lite';
export type { UseLiteEmbedderOptions } from './use-lite';
export { createUseLitePool } from './pool';
export type { UseLitePoolOptions } from './pool';

export type EmbedderMode = 'auto' | 'transformers' | 'use-lite';

export interface CreateEmbedderOptions {
  /** `auto` prefers transformers and falls back to use-lite when the model cannot be loaded. */
  mode: EmbedderMode;
  transformersModel: string;
  localModelPath?: string;
  cacheDir?: string;
  allowRemoteModels: boolean;
  /** Defaults to true, matching the `onnx/model_quantized.onnx` files published for Xenova models. */
  transformersQuantized?: boolean;
  maxBatchSize?: number;
  /**
   * use-lite only (transformers already runs its own native threads): embed on this many worker threads,
   * `'auto'` meaning os.availableParallelism(). Unset embeds on the calling thread. Pooled workers also keep
   * embedding off the event loop. Always dispose() a pooled embedder: each worker holds a model copy.
   */
  workers?: number | 'auto';
  /** Receives one-line notices (`auto` fell back, a pool worker was replaced); defaults to console.warn. */
  logger?: (message: string) => void;
}

export async function createEmbedder(options: CreateEmbedderOptions): Promise<Embedder> {
  const createTransformers = () =>
    createTransformersEmbedder({
      modelId: options.transformersModel,
      localModelPath: options.localModelPath,
      cacheDir: options.cacheDir,
      allowRemoteModels: options.allowRemoteModels,
      quantized: options.transformersQuantized,
      maxBatchSize: options.maxBatchSize,
    });
  const createUseLite = () => {
    if (options.workers === undefined) return createUseLiteEmbedder({ maxBatchSize: options.maxBatchSize });
    return createUseLitePool({
      workers: options.workers === 'auto' ? availableParallelism() : options.workers,
      maxBatchSize: options.maxBatchSize,
      logger: options.logger,
    });
  };

  switch (options.mode) {
    case 'transformers':
      return createTransformers();
    case 'use-lite':
      return createUseLite();
    case 'auto':
      try {
        return await createTransformers();
      } catch (error) {
        const log = options.logger ?? console.warn;
        log(`Embeddings: falling back to use-lite (512-d) because ${describeError(error)}`);
        return createUseLite();
      }
    default:
      throw new RangeError(`Unknown embedder mode: ${String(options.mode satisfies never)}`);
  }
}
