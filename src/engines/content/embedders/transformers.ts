import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Embedder } from './embedder';
import { describeError } from './errors';
import { assertEmbeddableTexts, assertPositiveInteger, chunk, l2NormalizeInPlace } from './vectors';

export const DEFAULT_TRANSFORMERS_MODEL = 'Xenova/all-MiniLM-L6-v2';

export interface TransformersEmbedderOptions {
  /** Hugging Face model id, also the sub-folder looked up under `localModelPath` and `cacheDir`. */
  modelId?: string;
  /** Folder containing `<modelId>/config.json`, tokenizer files and `onnx/*.onnx`. */
  localModelPath?: string;
  /** Where downloaded models are cached (and looked up again when offline). */
  cacheDir?: string;
  allowRemoteModels: boolean;
  /** Load `onnx/model_quantized.onnx` (the transformers.js default) rather than `onnx/model.onnx`. */
  quantized?: boolean;
  /** Texts per forward pass; each batch is padded to its longest text, so huge batches waste work. */
  maxBatchSize?: number;
}

const DEFAULT_MAX_BATCH_SIZE = 32;
const PROBE_TEXT = 'dimension probe';

// The subset of @xenova/transformers used here. The package's generated typings are too loose (env paths are
// `any`) and, being ESM-only, cannot be imported as types from this CommonJS module without resolution-mode
// gymnastics, so the contract is spelled out instead.
interface FeatureTensor {
  dims: number[];
  data: ArrayLike<number>;
}
interface FeatureExtractionPipeline {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<FeatureTensor>;
  dispose(): Promise<void>;
}
interface TransformersModule {
  env: {
    allowRemoteModels: boolean;
    allowLocalModels: boolean;
    localModelPath: string;
    cacheDir: string | null;
  };
  pipeline(
    task: 'feature-extraction',
    modelId: string,
    options: { quantized: boolean; cache_dir?: string; local_files_only: boolean },
  ): Promise<FeatureExtractionPipeline>;
}

/**
 * @xenova/transformers is ESM-only. A literal `import()` is not safe here: @swc/jest and @swc-node/register
 * compile this file to CommonJS and turn `import()` into `require()`, which jest cannot apply to an ES module
 * and which only works in plain Node >= 20.19 (require(esm)). Building the call with `new Function` hides it
 * from those transforms, so a genuine dynamic import runs everywhere: in plain Node / swc-node it uses
 * Node's ESM loader, and in jest (run with --experimental-vm-modules, as `npm test` does) it goes through
 * jest's vm-module loader. Without that flag jest fails with "A dynamic import callback was invoked without
 * --experimental-vm-modules". (Under jest, onnxruntime-node also needs the test environment in
 * tests/engines/content/shared-typed-arrays-environment.ts.)
 */
const importEsm = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<unknown>;

let transformersModule:
  Promise<{ module: TransformersModule; defaults: TransformersModule['env'] }> | undefined;

function loadTransformers() {
  transformersModule ??= importEsm('@xenova/transformers').then(
    (loaded) => {
      const module = loaded as TransformersModule;
      // Remember the library defaults so an embedder created without a path does not inherit another's.
      return { module, defaults: { ...module.env } };
    },
    (error: unknown) => {
      // Let a later call retry (e.g. after the native onnxruntime binary was fixed) instead of caching failure.
      transformersModule = undefined;
      throw error;
    },
  );
  return transformersModule;
}

// `env` is process-wide, so configuring it and building a pipeline must not interleave with another load.
let loadQueue: Promise<unknown> = Promise.resolve();

function serialized<T>(task: () => Promise<T>): Promise<T> {
  const result = loadQueue.then(task, task);
  loadQueue = result.catch(() => undefined);
  return result;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

class TransformersEmbedder implements Embedder {
  readonly provider = 'transformers' as const;

  constructor(
    readonly modelId: string,
    readonly dimension: number,
    private readonly extractor: FeatureExtractionPipeline,
    private readonly maxBatchSize: number,
  ) {}

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts);
    const vectors: Float32Array[] = [];
    for (const batch of chunk(texts, this.maxBatchSize)) {
      vectors.push(...(await embedBatch(this.extractor, batch)));
    }
    for (const vector of vectors) {
      if (vector.length !== this.dimension) {
        throw new Error(
          `${this.modelId} returned a ${vector.length}-d embedding, expected ${this.dimension}`,
        );
      }
    }
    return vectors;
  }

  async dispose(): Promise<void> {
    await this.extractor.dispose();
  }
}

async function embedBatch(extractor: FeatureExtractionPipeline, texts: string[]): Promise<Float32Array[]> {
  const output = await extractor(texts, { pooling: 'mean', normalize: true });
  const [rows, dimension] = output.dims;
  if (output.dims.length !== 2 || rows !== texts.length) {
    throw new Error(`Expected a [${texts.length}, dim] embedding tensor, got [${output.dims.join(', ')}]`);
  }
  const data = Float32Array.from(output.data);
  // Each vector gets its own copy so callers can keep some and let the rest of the batch be collected.
  return Array.from({ length: rows }, (_, row) =>
    l2NormalizeInPlace(data.slice(row * dimension, (row + 1) * dimension)),
  );
}

async function assertAvailableOffline(modelId: string, weightsFile: string, searchRoots: string[]) {
  for (const root of searchRoots) {
    if (await exists(path.join(root, modelId, weightsFile))) return;
  }
  const looked = searchRoots.map((root) => path.join(root, modelId, weightsFile)).join(', ');
  throw new Error(
    `Transformers model "${modelId}" is not available locally and remote models are disabled ` +
      `(allowRemoteModels=false); looked for ${looked}`,
  );
}

export async function createTransformersEmbedder(options: TransformersEmbedderOptions): Promise<Embedder> {
  const modelId = options.modelId ?? DEFAULT_TRANSFORMERS_MODEL;
  const quantized = options.quantized ?? true;
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  assertPositiveInteger('maxBatchSize', maxBatchSize);
  const weightsFile = path.join('onnx', quantized ? 'model_quantized.onnx' : 'model.onnx');

  const { module, defaults } = await loadTransformers();
  const extractor = await serialized(async () => {
    const { env } = module;
    env.allowLocalModels = true;
    env.allowRemoteModels = options.allowRemoteModels;
    env.localModelPath = options.localModelPath
      ? path.resolve(options.localModelPath)
      : defaults.localModelPath;
    env.cacheDir = options.cacheDir ? path.resolve(options.cacheDir) : defaults.cacheDir;
    if (!options.allowRemoteModels) {
      // Checked up front because the library's own failure is a console warning per missing file followed
      // by an error naming only one of the places it searched.
      await assertAvailableOffline(
        modelId,
        weightsFile,
        [env.localModelPath, env.cacheDir].filter((root): root is string => Boolean(root)),
      );
    }
    try {
      return await module.pipeline('feature-extraction', modelId, {
        quantized,
        cache_dir: env.cacheDir ?? undefined,
        local_files_only: !options.allowRemoteModels,
      });
    } catch (error) {
      throw new Error(`Failed to load transformers model "${modelId}": ${describeError(error)}`, {
        cause: error,
      });
    }
  });

  try {
    const [probe] = await embedBatch(extractor, [PROBE_TEXT]);
    const variant = quantized ? 'quantized' : 'fp32';
    return new TransformersEmbedder(`${modelId}:${variant}`, probe.length, extractor, maxBatchSize);
  } catch (error) {
    await extractor.dispose();
    throw error;
  }
}
