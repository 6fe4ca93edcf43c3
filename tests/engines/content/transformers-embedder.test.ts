/**
 * @jest-environment <rootDir>/tests/engines/content/shared-typed-arrays-environment.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildTinyBertModel, type TinyBertModel } from '../../../fixtures/tiny-bert/build';
import {
  createEmbedder,
  createTransformersEmbedder,
  type Embedder,
  USE_LITE_DIMENSION,
} from '../../../src/engines/content/embedders';

function norm(vector: Float32Array): number {
  return Math.hypot(...vector);
}

function dot(a: Float32Array, b: Float32Array): number {
  return a.reduce((sum, value, index) => sum + value * b[index], 0);
}

describe('transformers embedder against a locally built tiny BERT', () => {
  let workDir: string;
  let fixture: TinyBertModel;
  let embedder: Embedder;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'cinegraph-tiny-bert-'));
    fixture = await buildTinyBertModel(path.join(workDir, 'models'), { hiddenSize: 24 });
    embedder = await createTransformersEmbedder({
      modelId: fixture.modelId,
      localModelPath: path.join(workDir, 'models'),
      cacheDir: path.join(workDir, 'cache'),
      allowRemoteModels: false,
      quantized: false,
      maxBatchSize: 2,
    });
  });

  afterAll(async () => {
    await embedder?.dispose?.();
    await rm(workDir, { recursive: true, force: true });
  });

  it('reports the provider, variant and the dimension discovered from the model', () => {
    expect(embedder.provider).toBe('transformers');
    expect(embedder.modelId).toBe(`${fixture.modelId}:fp32`);
    expect(embedder.dimension).toBe(fixture.hiddenSize);
  });

  it('returns one unit-length vector per text, across internal batches', async () => {
    const texts = [
      'a space adventure with aliens',
      'a romantic comedy set in paris',
      'ghost house',
      'robots',
    ];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(fixture.hiddenSize);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
  });

  it('is deterministic and independent of batch composition', async () => {
    const [alone] = await embedder.embed(['time travel thriller']);
    const [, again] = await embedder.embed([
      'a much longer text that forces padding of the batch',
      'time travel thriller',
    ]);
    expect(dot(alone, again)).toBeCloseTo(1, 5);
    expect(Array.from(again)).toEqual(Array.from(alone).map((value) => expect.closeTo(value, 5)));
  });

  it('gives different texts different vectors', async () => {
    const [space, romance] = await embedder.embed([
      'space adventure with aliens',
      'romantic comedy in paris',
    ]);
    expect(dot(space, romance)).toBeLessThan(0.99);
  });

  it('handles an empty batch and rejects blank texts', async () => {
    await expect(embedder.embed([])).resolves.toEqual([]);
    await expect(embedder.embed(['fine', '   '])).rejects.toThrow('input #1 is blank');
  });

  it('fails clearly when the model is missing and remote models are disallowed', async () => {
    const attempt = createTransformersEmbedder({
      modelId: 'nobody/missing-model',
      localModelPath: path.join(workDir, 'models'),
      cacheDir: path.join(workDir, 'cache'),
      allowRemoteModels: false,
    });
    await expect(attempt).rejects.toThrow(
      /"nobody\/missing-model" is not available locally and remote models are disabled/,
    );
  });

  it('auto mode uses transformers when the model loads', async () => {
    const logged: string[] = [];
    const auto = await createEmbedder({
      mode: 'auto',
      transformersModel: fixture.modelId,
      transformersQuantized: false,
      localModelPath: path.join(workDir, 'models'),
      allowRemoteModels: false,
      logger: (message) => logged.push(message),
    });
    try {
      expect(auto.provider).toBe('transformers');
      expect(logged).toEqual([]);
    } finally {
      await auto.dispose?.();
    }
  });

  it('auto mode falls back to use-lite with one log line naming the reason', async () => {
    const logged: string[] = [];
    const auto = await createEmbedder({
      mode: 'auto',
      transformersModel: 'nobody/missing-model',
      localModelPath: path.join(workDir, 'models'),
      allowRemoteModels: false,
      logger: (message) => logged.push(message),
    });
    try {
      expect(auto.provider).toBe('use-lite');
      expect(auto.dimension).toBe(USE_LITE_DIMENSION);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(/use-lite/);
      expect(logged[0]).toMatch(/nobody\/missing-model/);
      expect(logged[0]).not.toMatch(/\n/);
      const [vector] = await auto.embed(['a space adventure with aliens']);
      expect(vector).toHaveLength(USE_LITE_DIMENSION);
    } finally {
      await auto.dispose?.();
    }
  });

  it('transformers mode does not fall back', async () => {
    await expect(
      createEmbedder({
        mode: 'transformers',
        transformersModel: 'nobody/missing-model',
        localModelPath: path.join(workDir, 'models'),
        allowRemoteModels: false,
      }),
    ).rejects.toThrow(/not available locally/);
  });
});
