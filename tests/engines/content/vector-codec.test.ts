import { fromVectorSend, toVectorLiteral } from '../../../src/engines/content/vector-codec';
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

  it('refuses non-finite components, naming the first', () => {
    expect(() => toVectorLiteral([0.5, Number.NaN, 1])).toThrow('component 1 is NaN');
    expect(() => toVectorLiteral(Float32Array.from([Infinity]))).toThrow(RangeError);
  });

  it('rejects a vector_send payload whose length does not match its dimension', () => {
    expect(() => fromVectorSend(Uint8Array.from([0, 2, 0, 0, 1, 2, 3, 4]))).toThrow(
      'vector_send payload of 8 bytes does not hold 2 floats',
    );
  });
});
