import type { Embedder } from './embedder';
import { describeError } from './errors';
import { createTransformersEmbedder } from './transformers';
import { createUseLiteEmbedder } from './use-lite';

export type { Embedder, EmbedderProvider } from './embedder';
export { cosineSimilarity } from './vectors';
export { createTransformersEmbedder, DEFAULT_TRANSFORMERS_MODEL } from './transformers';
export type { TransformersEmbedderOptions } from './transformers';
export { createUseLiteEmbedder, USE_LITE_DIMENSION } from './use-lite';
export type { UseLiteEmbedderOptions } from './use-lite';

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
  /** Receives the one-line notice when `auto` falls back; defaults to console.warn. */
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
  const createUseLite = () => createUseLiteEmbedder({ maxBatchSize: options.maxBatchSize });

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
