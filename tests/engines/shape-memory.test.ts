import { newCacheCounts } from '../../src/cache';
import { REMEMBERED_SHAPES_PER_USER, ShapeMemory } from '../../src/engines/engine';

describe('ShapeMemory', () => {
  it('keeps REMEMBERED_SHAPES_PER_USER shapes, forgetting the least recently asked, and counts hits and misses', () => {
    const counts = newCacheCounts();
    const memory = new ShapeMemory<number>(counts);
    for (let n = 0; n < REMEMBERED_SHAPES_PER_USER; n++) memory.set(`shape ${n}`, n);
    expect(memory.get('shape 0')).toBe(0);
    memory.set('one more', 99);
    // 'shape 0' was asked for after 'shape 1' was stored: 'shape 1' goes.
    expect(memory.get('shape 1')).toBeUndefined();
    expect(memory.get('shape 0')).toBe(0);
    expect(memory.get('one more')).toBe(99);
    expect(counts).toEqual({ hits: 3, misses: 1 });
    // Storing a shape again replaces it without forgetting another.
    memory.set('one more', 100);
    for (let n = 2; n < REMEMBERED_SHAPES_PER_USER; n++) expect(memory.get(`shape ${n}`)).toBe(n);
    expect(memory.get('one more')).toBe(100);
    memory.delete('one more');
    expect(memory.get('one more')).toBeUndefined();
  });
});
