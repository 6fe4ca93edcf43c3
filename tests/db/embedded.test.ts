import { openDatabase } from '../../src/db/datasource';
import { startEmbeddedDatabase } from '../../src/db/embedded';

describe('embedded PGlite database', () => {
  it('serves the wire protocol with pgvector and runs the migrations', async () => {
    const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0, poolSize: 2 });
    try {
      const dataSource = await openDatabase({ url: embedded.url, poolSize: 2 });
      try {
        await dataSource.query(
          `INSERT INTO movies (id, title, year, genres) VALUES (1, 'Heat', 1995, '{Action,Crime}')`,
        );
        const [movie] = await dataSource.query(`SELECT title, genres FROM movies WHERE id = 1`);
        expect(movie).toEqual({ title: 'Heat', genres: ['Action', 'Crime'] });
        const [row] = await dataSource.query(`SELECT '[3,4]'::vector <-> '[0,0]'::vector AS distance`);
        expect(Number(row.distance)).toBe(5);
      } finally {
        await dataSource.destroy();
      }
    } finally {
      await embedded.stop();
    }
  });
});
