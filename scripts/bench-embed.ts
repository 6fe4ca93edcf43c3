/**
 * Embedding throughput on synthetic movie texts.
 *
 *   node -r @swc-node/register scripts/bench-embed.ts [--count 500] [--batch-size 32]
 *     [--transformers-model Xenova/all-MiniLM-L6-v2] [--local-model-path DIR] [--cache-dir DIR] [--fp32]
 *
 * The transformers run never downloads: it is skipped (with the reason) unless the model is already on disk.
 */
import { parseArgs } from 'node:util';
import {
  createTransformersEmbedder,
  createUseLiteEmbedder,
  DEFAULT_TRANSFORMERS_MODEL,
  type Embedder,
} from '../src/engines/content/embedders';
import { describeError } from '../src/engines/content/embedders/errors';
import { buildMovieText } from '../src/engines/content/movie-text';

const GENRES = [
  'Action',
  'Adventure',
  'Animation',
  'Comedy',
  'Crime',
  'Drama',
  'Horror',
  'Romance',
  'Sci-Fi',
];
const WORDS = [
  'space',
  'heist',
  'family',
  'ghost',
  'detective',
  'robot',
  'love',
  'war',
  'city',
  'island',
  'revenge',
  'friendship',
  'time travel',
  'dystopia',
  'music',
  'school',
  'desert',
  'ocean',
  'kingdom',
  'secret',
];

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function syntheticMovieTexts(count: number): string[] {
  const random = seededRandom(7);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS));
  return Array.from({ length: count }, (_, index) =>
    buildMovieText({
      title: `The ${pick(WORDS)} of ${pick(WORDS)} ${index}`,
      year: 1950 + Math.floor(random() * 75),
      genres: [pick(GENRES), pick(GENRES)],
      tags: words(8).map((tag, rank) => ({ tag, count: 10 - rank })),
      overview: `A story about ${words(12).join(', ')} and what happens when ${words(6).join(' meets ')}.`,
    }),
  );
}

async function timed<T>(task: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await task();
  return { result, ms: performance.now() - start };
}

async function bench(label: string, embedder: Embedder, loadMs: number, texts: string[], batchSize: number) {
  try {
    // Warm-up, so one-off costs (wasm compilation, session initialisation) do not count as throughput.
    await embedder.embed(texts.slice(0, batchSize));
    const { ms } = await timed(async () => {
      for (let offset = 0; offset < texts.length; offset += batchSize) {
        await embedder.embed(texts.slice(offset, offset + batchSize));
      }
    });
    const seconds = ms / 1000;
    console.log(
      `${label.padEnd(12)} ${embedder.modelId} (${embedder.dimension}-d): load ${loadMs.toFixed(0)} ms, ` +
        `${texts.length} texts in ${seconds.toFixed(2)} s = ${(texts.length / seconds).toFixed(1)} texts/s ` +
        `(batch size ${batchSize})`,
    );
  } finally {
    await embedder.dispose?.();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '500' },
      'batch-size': { type: 'string', default: '32' },
      'transformers-model': { type: 'string', default: DEFAULT_TRANSFORMERS_MODEL },
      'local-model-path': { type: 'string' },
      'cache-dir': { type: 'string' },
      fp32: { type: 'boolean', default: false },
    },
  });
  const count = Number(values.count);
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`--batch-size must be a positive integer`);

  const texts = syntheticMovieTexts(count);
  const meanChars = texts.reduce((sum, text) => sum + text.length, 0) / texts.length;
  console.log(`${count} synthetic movie texts, mean ${meanChars.toFixed(0)} chars`);

  const useLite = await timed(() => createUseLiteEmbedder({ maxBatchSize: batchSize }));
  await bench('use-lite', useLite.result, useLite.ms, texts, batchSize);

  let transformers: { result: Embedder; ms: number };
  try {
    transformers = await timed(() =>
      createTransformersEmbedder({
        modelId: values['transformers-model'],
        localModelPath: values['local-model-path'],
        cacheDir: values['cache-dir'],
        allowRemoteModels: false,
        quantized: !values.fp32,
        maxBatchSize: batchSize,
      }),
    );
  } catch (error) {
    console.log(`transformers skipped: ${describeError(error)}`);
    return;
  }
  await bench('transformers', transformers.result, transformers.ms, texts, batchSize);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
