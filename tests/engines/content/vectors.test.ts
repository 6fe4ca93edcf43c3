import {
  assertEmbeddableTexts,
  chunk,
  cosineSimilarity,
  l2NormalizeInPlace,
} from '../../../src/engines/content/embedders/vectors';

describe('vector helpers', () => {
  it('normalises to unit length in place', () => {
    const vector = Float32Array.from([3, 4]);
    expect(l2NormalizeInPlace(vector)).toBe(vector);
    expect(Array.from(vector)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
  });

  it('refuses to normalise a zero vector', () => {
    expect(() => l2NormalizeInPlace(new Float32Array(3))).toThrow(/norm is 0/);
  });

  it('computes cosine similarity independent of scale', () => {
    expect(cosineSimilarity([1, 0], [5, 0])).toBeCloseTo(1);
    expect(cosineSimilarity([1, 0], [0, 2])).toBeCloseTo(0);
    expect(cosineSimilarity([1, 1], [-1, -1])).toBeCloseTo(-1);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(/lengths differ/);
  });

  it('chunks preserving order, with a short last chunk', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });

  it('validates texts', () => {
    expect(() => assertEmbeddableTexts(['ok', 'fine'])).not.toThrow();
    expect(() => assertEmbeddableTexts(['ok', 42 as unknown as string])).toThrow(/#1 is not a string/);
    expect(() => assertEmbeddableTexts(['\n\t'])).toThrow(/#0 is blank/);
    expect(() => assertEmbeddableTexts('text' as unknown as string[])).toThrow(/array/);
  });
});
