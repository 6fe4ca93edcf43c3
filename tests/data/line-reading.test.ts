import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { readLineBatches } from '../../src/data/line-batches';
import { lineParsers, type RatingRow } from '../../src/data/movielens/formats';
import { scanRatingLine } from '../../src/data/rating-scanner';
import { copyTextValue } from '../../src/data/staging';

describe('readLineBatches', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-lines-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function linesOf(content: Buffer, encoding: 'utf8' | 'latin1', chunkBytes: number) {
    const file = path.join(dir, `f-${chunkBytes}-${encoding}`);
    await writeFile(file, content);
    const numbered: Array<[number, string]> = [];
    for await (const batch of readLineBatches(file, encoding, chunkBytes)) {
      batch.lines.forEach((text, i) => numbered.push([batch.firstLine + i, text]));
    }
    return numbered;
  }

  it('numbers lines across chunk boundaries, keeps multi-byte characters whole, drops BOM and CR', async () => {
    const text = '\uFEFFmovieId,title\r\n1,Misérables, Les\r\n\r\n2,千と千尋の神隠し\n3,Amélie';
    const expected: Array<[number, string]> = [
      [1, 'movieId,title'],
      [2, '1,Misérables, Les'],
      [3, ''],
      [4, '2,千と千尋の神隠し'],
      [5, '3,Amélie'],
    ];
    for (const chunkBytes of [1, 2, 3, 5, 7, 1024]) {
      expect(await linesOf(Buffer.from(text, 'utf8'), 'utf8', chunkBytes)).toEqual(expected);
    }
  });

  it('decodes Latin-1 byte for byte', async () => {
    const bytes = iconv.encode('2|Misérables, Les (1995)\n3|Café Society\n', 'latin1');
    expect(await linesOf(bytes, 'latin1', 4)).toEqual([
      [1, '2|Misérables, Les (1995)'],
      [2, '3|Café Society'],
    ]);
  });
});

describe('scanRatingLine', () => {
  const row: RatingRow = { userId: 0, movieId: 0, rating: 0, timestamp: 0 };

  it('accepts what the full parser accepts, for every separator', () => {
    const cases: Array<[string, string]> = [
      ['1,31,2.5,1260759144', ','],
      ['196\t242\t3\t881250949', '\t'],
      ['1::1193::5::978300760', '::'],
      ['7,8,0.5,0', ','],
      ['7,8,4.50,12', ','],
    ];
    for (const [text, separator] of cases) {
      expect(scanRatingLine(text, separator, row)).toBe(true);
      const format = separator === ',' ? 'ml-latest' : separator === '\t' ? 'ml-100k' : 'ml-1m';
      expect({ ...row }).toEqual(lineParsers.ratings(format, text));
    }
  });

  it('leaves anything unusual to the full parser', () => {
    const rejected = [
      '1,31,2.25,1260759144',
      '1,31,5.5,1260759144',
      '1,31,0,1260759144',
      '0,31,3,1260759144',
      '1,31,3',
      '1,31,3,1,2',
      '1,31,3.,1260759144',
      '1, 31,3,1260759144',
      '1,31,-3,1260759144',
      '99999999999,1,3,1',
      'a,b,c,d',
    ];
    expect(rejected.filter((text) => scanRatingLine(text, ',', row))).toEqual([]);
  });
});

describe('copyTextValue', () => {
  it('escapes what would end a COPY field or row, and writes NULL as \\N', () => {
    expect(copyTextValue('AC\\DC\tlive\nat\r9')).toBe('AC\\\\DC\\tlive\\nat\\r9');
    expect(copyTextValue('plain, "quoted"')).toBe('plain, "quoted"');
    expect(copyTextValue(null)).toBe('\\N');
    expect(copyTextValue(3.5)).toBe('3.5');
    expect(() => copyTextValue('nul\0byte')).toThrow(/NUL/);
  });
});
