import {
  fromVectorSend,
  toFloat32VectorLiteral,
  toVectorLiteral,
} from '../../../src/engines/content/vector-codec';
import { createTestDatabase, TestDatabase } from '../../helpers/database';

describe('vector codec at the pgvector boundary', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('stores float32 vectors exactly and reads them back from vector_send', async () => {
    const vector = Float32Array.from([0.1, -1 / 3, 1e-8, 123456.789, 0, Math.PI]);
    const [{ sent }] = await db.dataSource.query(`SELECT vector_send($1::vector) AS sent`, [
      toVectorLiteral(vector),
    ]);
    expect(fromVectorSend(sent)).toEqual(vector);
  });

  it('writes the 9-digit literal of a float32 vector that pgvector reads as the very same vector', async () => {
    // Random bit patterns over the whole float32 range (subnormals and extremes included), unit
    // vector components as the search points are, and signed zeros.
    let seed = 5;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    const bits = Uint32Array.from({ length: 4000 }, () => ((next() << 1) ^ next()) >>> 0);
    const random = new Float32Array(bits.buffer).filter((x) => Number.isFinite(x));
    const unit = Float32Array.from({ length: 512 }, () => next() / 2147483648 - 0.5);
    for (const vector of [random, unit, Float32Array.from([0, -0, 1, -1, 3.4028234663852886e38, 1.4e-45])]) {
      const literal = toFloat32VectorLiteral(vector);
      const [{ short, long }] = await db.dataSource.query(
        `SELECT vector_send($1::vector) AS short, vector_send($2::vector) AS long`,
        [literal, toVectorLiteral(vector)],
      );
      expect(Buffer.compare(short, long)).toBe(0);
      // Every component but −0, which both literals write as 0.
      expect(fromVectorSend(short)).toEqual(vector.map((x) => (Object.is(x, -0) ? 0 : x)));
    }
    // What it is for: a search point (a unit vector) is written in fewer characters.
    expect(toFloat32VectorLiteral(unit).length).toBeLessThan(0.7 * toVectorLiteral(unit).length);
  });

  it('refuses non-finite components, naming the first', () => {
    expect(() => toVectorLiteral([0.5, Number.NaN, 1])).toThrow('component 1 is NaN');
    expect(() => toVectorLiteral(Float32Array.from([Infinity]))).toThrow(RangeError);
    expect(() => toFloat32VectorLiteral(Float32Array.from([0, 1, Number.NaN]))).toThrow('component 2 is NaN');
  });

  it('rejects a vector_send payload whose length does not match its dimension', () => {
    expect(() => fromVectorSend(Uint8Array.from([0, 2, 0, 0, 1, 2, 3, 4]))).toThrow(
      'vector_send payload of 8 bytes does not hold 2 floats',
    );
  });
});
