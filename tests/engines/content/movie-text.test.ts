import { buildMovieText, contentHash, topTags } from '../../../src/engines/content/movie-text';

describe('buildMovieText', () => {
  it('joins title, year, genres, top tags and overview in that order', () => {
    const text = buildMovieText({
      title: 'Alien',
      year: 1979,
      genres: ['Horror', 'Sci-Fi'],
      tags: [
        { tag: 'space', count: 5 },
        { tag: 'sigourney weaver', count: 9 },
      ],
      overview: 'The crew of a commercial spacecraft encounters a deadly lifeform.',
    });
    expect(text).toBe(
      'Alien (1979). Genres: Horror, Sci-Fi. Tags: sigourney weaver, space. ' +
        'The crew of a commercial spacecraft encounters a deadly lifeform.',
    );
  });

  it('does not repeat a year already in a MovieLens-style title', () => {
    expect(buildMovieText({ title: 'Toy Story (1995)', year: 1995 })).toBe('Toy Story (1995).');
    expect(buildMovieText({ title: 'Heat', year: null })).toBe('Heat.');
  });

  it('omits empty sections, the "(no genres listed)" placeholder and duplicate genres', () => {
    expect(
      buildMovieText({
        title: '  Some   Film ',
        genres: ['(no genres listed)', 'Drama', 'drama', ' '],
        tags: [],
        overview: '   ',
      }),
    ).toBe('Some Film. Genres: Drama.');
    expect(buildMovieText({ title: 'Untagged', genres: ['(no genres listed)'] })).toBe('Untagged.');
  });

  it('caps the number of tags', () => {
    const tags = Array.from({ length: 15 }, (_, index) => ({ tag: `tag${index}`, count: 100 - index }));
    const text = buildMovieText({ title: 'Tagged', tags }, { maxTags: 3 });
    expect(text).toBe('Tagged. Tags: tag0, tag1, tag2.');
    expect(buildMovieText({ title: 'Tagged', tags })).toBe('Tagged. Tags: tag0, tag1, tag2, tag3, tag4.');
  });

  it('cuts long overviews at a word boundary', () => {
    const overview = 'word '.repeat(100).trim();
    const text = buildMovieText({ title: 'Long', overview }, { maxOverviewChars: 23 });
    expect(text).toBe('Long. word word word word…');
  });

  it('normalises Unicode so composed and decomposed accents give the same text', () => {
    const composed = buildMovieText({ title: 'Am\u00e9lie', genres: ['Com\u00e9die'] });
    const decomposed = buildMovieText({ title: 'Ame\u0301lie', genres: ['Come\u0301die'] });
    expect(decomposed).toBe(composed);
  });

  it('rejects a blank title', () => {
    expect(() => buildMovieText({ title: '  ' })).toThrow(/non-blank title/);
  });
});

describe('topTags', () => {
  it('merges case variants, summing counts and keeping the most used spelling', () => {
    const tags = [
      { tag: 'Pixar', count: 3 },
      { tag: 'pixar', count: 4 },
      { tag: 'funny', count: 5 },
      { tag: 'PIXAR', count: 1 },
    ];
    expect(topTags(tags, 10)).toEqual(['pixar', 'funny']);
  });

  it('orders by count, then alphabetically, whatever the input order', () => {
    const tags = [
      { tag: 'b', count: 2 },
      { tag: 'C', count: 2 },
      { tag: 'a', count: 2 },
      { tag: 'z', count: 7 },
    ];
    expect(topTags(tags, 10)).toEqual(['z', 'a', 'b', 'C']);
    expect(topTags([...tags].reverse(), 10)).toEqual(['z', 'a', 'b', 'C']);
  });

  it('ignores blank tags and non-positive counts', () => {
    expect(
      topTags(
        [
          { tag: ' ', count: 3 },
          { tag: 'kept', count: 1 },
          { tag: 'zero', count: 0 },
        ],
        10,
      ),
    ).toEqual(['kept']);
  });
});

describe('contentHash', () => {
  it('is the hex sha256 of the text', () => {
    expect(contentHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('is stable for the same movie regardless of tag row order and changes with the content', () => {
    const movie = {
      title: 'Alien',
      year: 1979,
      tags: [
        { tag: 'space', count: 2 },
        { tag: 'scary', count: 2 },
      ],
    };
    const reordered = { ...movie, tags: [...movie.tags].reverse() };
    expect(contentHash(buildMovieText(movie))).toBe(contentHash(buildMovieText(reordered)));
    expect(contentHash(buildMovieText(movie))).not.toBe(
      contentHash(buildMovieText({ ...movie, overview: 'In space no one can hear you scream.' })),
    );
  });
});
