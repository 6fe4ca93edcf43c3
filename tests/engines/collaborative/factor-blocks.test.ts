import { openDatabase } from '../../../src/db/datasource';
import { startEmbeddedDatabase } from '../../../src/db/embedded';
import {
  BinaryCopyBytes,
  FACTOR_BLOCK_BYTES,
  readFactorPart,
  readFactorPartFast,
  readsByBinaryCopy,
  writeFactorBlocks,
  type FactorArray,
} from '../../../src/engines/collaborative/factor-blocks';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

/** PostgreSQL's binary COPY of one bytea column holding `values`. */
function binaryCopy(values: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(19);
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1').copy(header);
  const tuples = values.map((value) => {
    const head = Buffer.alloc(6);
    head.writeInt16BE(1, 0);
    head.writeInt32BE(value.length, 2);
    return Buffer.concat([head, value]);
  });
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  return Buffer.concat([header, ...tuples, trailer]);
}

describe('reading a binary COPY of factor blocks', () => {
  const values = [Buffer.from([1, 2, 3, 4, 5, 6, 7]), Buffer.alloc(0), Buffer.from([250, 251, 252])];
  const stream = binaryCopy(values);
  const expected = Buffer.concat(values);

  it('gets the same bytes however the stream is cut into chunks', () => {
    for (let size = 1; size <= stream.length; size++) {
      const target = new Uint8Array(expected.length);
      const reader = new BinaryCopyBytes(target);
      for (let at = 0; at < stream.length; at += size) reader.push(stream.subarray(at, at + size));
      expect(reader.end()).toBe(expected.length);
      expect(Buffer.from(target).equals(expected)).toBe(true);
    }
  });

  it('refuses a truncated stream, one that overflows the target, and what is not a binary COPY', () => {
    const truncated = new BinaryCopyBytes(new Uint8Array(expected.length));
    truncated.push(stream.subarray(0, stream.length - 3));
    expect(() => truncated.end()).toThrow(/ended early/);
    expect(() => new BinaryCopyBytes(new Uint8Array(4)).push(stream)).toThrow(/more than the 4 bytes/);
    expect(() => new BinaryCopyBytes(new Uint8Array(10)).push(Buffer.alloc(40, 7))).toThrow(
      /not a binary COPY/,
    );
  });
});

describe('readFactorPartFast', () => {
  let db: TestDatabase;
  const same = (a: ArrayBufferView, b: ArrayBufferView) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    );

  beforeAll(async () => {
    db = await createTestDatabase(2);
    // A version row for the blocks' foreign key.
    await db.dataSource.query(
      `INSERT INTO model_versions (id, status, hyperparameters, metrics, params) VALUES (77, 'ready', '{}', '{}', '{}')`,
    );
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('reads by binary COPY on PostgreSQL what the hex path reads, across blocks and for an empty part', async () => {
    expect(await readsByBinaryCopy(db.dataSource)).toBe(true);
    const factors = Float32Array.from({ length: (2.5 * FACTOR_BLOCK_BYTES) / 4 }, (_, n) => Math.sin(n) * 3);
    const ids = Int32Array.from([5, -1, 2 ** 31 - 1]);
    await writeFactorBlocks(db.dataSource.manager, 77, { big: factors, ids, none: new Float64Array(0) });
    const bothPaths = async <T extends FactorArray>(
      part: string,
      Make: { new (length: number): T; BYTES_PER_ELEMENT: number },
    ) => {
      const fast = await readFactorPartFast(db.dataSource, 77, part, Make);
      expect(fast.constructor).toBe(Make);
      expect(same(fast, await readFactorPart(db.dataSource, 77, part, Make))).toBe(true);
    };
    await bothPaths('big', Float32Array);
    await bothPaths('ids', Int32Array);
    await bothPaths('none', Float64Array);
    expect(same(await readFactorPartFast(db.dataSource, 77, 'big', Float32Array), factors)).toBe(true);
    await expect(readFactorPartFast(db.dataSource, 77, 'missing', Float32Array)).rejects.toThrow(
      /has no "missing" blocks/,
    );
    await expect(readFactorPartFast(db.dataSource, 77, "big'; --", Float32Array)).rejects.toThrow(
      /invalid factor part/,
    );
  }, 60_000);

  it('falls back to the hex path on the embedded database', async () => {
    const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0, poolSize: 2 });
    try {
      const dataSource = await openDatabase({ url: embedded.url, poolSize: 2 });
      try {
        await dataSource.query(
          `INSERT INTO model_versions (id, status, hyperparameters, metrics, params) VALUES (3, 'ready', '{}', '{}', '{}')`,
        );
        expect(await readsByBinaryCopy(dataSource)).toBe(false);
        const values = Float64Array.from([1.5, -2.25, Math.PI]);
        await writeFactorBlocks(dataSource.manager, 3, { bias: values });
        expect(same(await readFactorPartFast(dataSource, 3, 'bias', Float64Array), values)).toBe(true);
      } finally {
        await dataSource.destroy();
      }
    } finally {
      await embedded.stop();
    }
  }, 60_000);
});
