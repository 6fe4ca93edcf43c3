import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, extractZip, listZipEntries, ZipFormatError } from '../../src/data/zip';
import { buildZip } from './zip-writer';

describe('zip extraction', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-zip-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const zipFile = async (name: string, bytes: Buffer) => {
    const file = path.join(scratch, name);
    await writeFile(file, bytes);
    return file;
  };

  it('computes the standard CRC-32', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(crc32(data)).toBe(0x414fa339);
    expect(crc32(data.subarray(10), crc32(data.subarray(0, 10)))).toBe(zlibCrc32(data));
  });

  it('extracts deflated and stored entries, folders included', async () => {
    const ratings = 'userId,movieId,rating,timestamp\n' + '1,1,4.0,964982703\n'.repeat(5000);
    const file = await zipFile(
      'release.zip',
      buildZip([
        { name: 'ml-tiny/', data: '', stored: true },
        { name: 'ml-tiny/ratings.csv', data: ratings },
        { name: 'ml-tiny/README.txt', data: 'Misérables\n', stored: true },
        { name: 'ml-tiny/empty.txt', data: '', stored: true },
      ]),
    );
    expect((await listZipEntries(file)).map((e) => [e.name, e.method])).toEqual([
      ['ml-tiny/', 0],
      ['ml-tiny/ratings.csv', 8],
      ['ml-tiny/README.txt', 0],
      ['ml-tiny/empty.txt', 0],
    ]);
    const out = path.join(scratch, 'out');
    const written = await extractZip(file, out);
    expect(written.map((w) => path.relative(out, w))).toEqual([
      path.join('ml-tiny', 'ratings.csv'),
      path.join('ml-tiny', 'README.txt'),
      path.join('ml-tiny', 'empty.txt'),
    ]);
    expect(await readFile(path.join(out, 'ml-tiny', 'ratings.csv'), 'utf8')).toBe(ratings);
    expect(await readFile(path.join(out, 'ml-tiny', 'README.txt'), 'utf8')).toBe('Misérables\n');
    expect(await readFile(path.join(out, 'ml-tiny', 'empty.txt'), 'utf8')).toBe('');
  });

  it('detects corrupted data through the CRC-32', async () => {
    const bytes = buildZip([{ name: 'a.txt', data: 'abcdefghijklmnopqrstuvwxyz', stored: true }]);
    bytes[30 + 'a.txt'.length + 3] ^= 0xff;
    const file = await zipFile('corrupt.zip', bytes);
    await expect(extractZip(file, path.join(scratch, 'corrupt'))).rejects.toThrow(/a\.txt is corrupt/);
  });

  it('refuses entries that would land outside the target directory', async () => {
    const file = await zipFile('slip.zip', buildZip([{ name: '../escape.txt', data: 'x' }]));
    await expect(extractZip(file, path.join(scratch, 'slip'))).rejects.toThrow(
      /outside the target directory/,
    );
  });

  it('says so when the file is not a zip archive', async () => {
    const file = await zipFile('not.zip', Buffer.from('<html>Service Unavailable</html>'));
    await expect(listZipEntries(file)).rejects.toThrow(ZipFormatError);
    await expect(listZipEntries(file)).rejects.toThrow(/not a zip archive/);
  });
});
