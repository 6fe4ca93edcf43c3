import { statisticalOnlyServices } from '../../fixtures/statistical-services';
import { startApi } from '../../src/app';
import { loadConfig } from '../../src/config';
import { Logger } from '../../src/logger';
import { RunningServer } from '../../src/server';
import { graphql } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';

/** CONTENT_ENGINE=false: content queries answer a coded SERVICE_UNAVAILABLE and log nothing per call. */
describe('content engine switched off', () => {
  let db: TestDatabase;
  let api: RunningServer;
  const logged: { level: string; message: string }[] = [];
  const recording = (level: string) => (message: string) => logged.push({ level, message });
  const logger: Logger = {
    debug: recording('debug'),
    info: recording('info'),
    warn: recording('warn'),
    error: recording('error'),
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(`
      INSERT INTO movies (id, title, year, genres) VALUES
        (1, 'Toy Story', 1995, '{Animation,Comedy}'), (2, 'Heat', 1995, '{Action,Crime}')`);
    const services = statisticalOnlyServices(db.dataSource, { globalStatsMaxAgeMs: 0 });
    api = await startApi(loadConfig({ PORT: '0', CONTENT_ENGINE: 'false' }), services, logger);
  });

  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  const contentOff = {
    code: 'SERVICE_UNAVAILABLE',
    engine: 'content',
  };

  it.each([
    ['similarMovies', '{ similarMovies(movieId: 1) { movie { title } score } }'],
    ['Movie.similar', '{ movie(id: 1) { title similar { movie { title } } } }'],
    ['search', '{ search(query: "toys that come alive") { movie { title } } }'],
  ])('%s answers SERVICE_UNAVAILABLE naming the content engine, without an error log', async (_, query) => {
    logged.length = 0;
    const response = await graphql(api.url, query);
    expect(response.errors).toHaveLength(1);
    expect(response.errors?.[0].message).toMatch(/content engine/);
    expect(response.errors?.[0].extensions).toMatchObject(contentOff);
    expect(logged.filter((line) => line.level === 'error')).toEqual([]);
  });
});
