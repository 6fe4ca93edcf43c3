import { csvField, splitCsvLine } from '../../src/data/movielens/formats';

describe('csvField', () => {
  it('leaves plain fields alone and quotes only where a comma, quote or line break needs it', () => {
    expect(csvField('Toy Story (1995)')).toBe('Toy Story (1995)');
    expect(csvField('Adventure|Children')).toBe('Adventure|Children');
    expect(csvField('American President, The (1995)')).toBe('"American President, The (1995)"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
  });

  it('writes what splitCsvLine reads back', () => {
    const fields = ['1', 'Garden, The (1999)', 'a "quoted" tag', '(no genres listed)', ''];
    expect(splitCsvLine(fields.map(csvField).join(','))).toEqual(fields);
  });
});
