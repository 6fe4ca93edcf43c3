import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse, print, type OperationDefinitionNode } from 'graphql';
import { startCinegraph, type Cinegraph } from '../../src/app';
import { databaseTrainer } from '../../training/worker-trainer';
import { loadConfig } from '../../src/config';
import { DEFAULT_QUERY } from '../../src/graphql/playground';
import { silentLogger } from '../../src/logger';
import { graphql } from '../helpers/api';
import { closedPortUrl } from '../helpers/closed-port';

/** The ```graphql blocks of README.md's quick start, in order. */
async function readmeQueries(): Promise<string[]> {
  const readme = await readFile(path.resolve(__dirname, '../../README.md'), 'utf8');
  return [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1]);
}

/**
 * A newcomer's first minutes, offline and without MOVIELENS_DIR: `npm start` loads the generated demo
 * catalog, and the README's first session and GraphiQL's preloaded example must work on it verbatim.
 */
describe('the README first session on the offline demo catalog', () => {
  let dir: string;
  let app: Cinegraph;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-first-session-'));
    const config = loadConfig({
      PORT: '0',
      DATA_DIR: path.join(dir, 'data'),
      CACHE_DIR: path.join(dir, 'cache'),
      MOVIELENS_DOWNLOAD_URL: await closedPortUrl(),
      CONTENT_ENGINE: 'false',
    });
    app = await startCinegraph(config, silentLogger, {
      trainer: (database) => databaseTrainer(database, silentLogger),
    });
  });

  afterAll(async () => {
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the onboard mutation and then the public recommendations query', async () => {
    const [onboard, recommendations, events, , ...rest] = await readmeQueries();
    expect(rest).toEqual([]);
    expect(onboard).toMatch(/onboard\(/);
    const onboarded = await graphql<{
      onboard: {
        token: string;
        recommendations: { rank: number; listId: string; movie: { title: string } }[];
      };
    }>(
      `
        ${app.url}
      `,
      onboard,
    );
    expect(onboarded.errors).toBeUndefined();
    expect(onboarded.data?.onboard.token).toEqual(expect.any(String));
    expect(onboarded.data?.onboard.recommendations.length).toBeGreaterThan(0);

    expect(recommendations).toMatch(/recommendations\(userId: 1/);
    const answered = await graphql<{ recommendations: unknown[] }>(app.url, recommendations);
    expect(answered.errors).toBeUndefined();
    expect(answered.data?.recommendations.length).toBeGreaterThan(0);

    // The feedback example, as the onboarded user, with a list id from the onboard answer.
    expect(events).toMatch(/recordEvents\(/);
    const listId = onboarded.data?.onboard.recommendations[0].listId as string;
    const recorded = await graphql<{ recordEvents: { accepted: number; duplicates: number } }>(
      app.url,
      events.replaceAll('<listId>', listId),
      {},
      { authorization: `Bearer ${onboarded.data?.onboard.token}` },
    );
    expect(recorded.errors).toBeUndefined();
    expect(recorded.data?.recordEvents).toEqual({ accepted: 4, duplicates: 0 });
    // The served lists reach the embedded database too (one multi-row INSERT over PGlite).
    await app.services.servedLists.flush();
    const [{ lists }] = await app.database.dataSource.query(
      `SELECT count(*)::int AS lists FROM recommendation_lists WHERE list_id = $1`,
      [listId],
    );
    expect(lists).toBe(1);
  });

  it("runs the README's service-key example, each operation in turn, with a key holding read and write", async () => {
    const [, , , integrator] = await readmeQueries();
    expect(integrator).toMatch(/upsertUser\(/);
    const { secret } = await app.services.keys.create('readme', ['read', 'write']);
    const operations = parse(integrator).definitions as OperationDefinitionNode[];
    expect(operations.map((operation) => operation.name?.value)).toEqual(['AddCustomer', 'ForCustomer']);
    const answers = [];
    for (const operation of operations) {
      const answer = await graphql<Record<string, unknown>>(
        app.url,
        print(operation),
        {},
        {
          authorization: `Bearer ${secret}`,
        },
      );
      expect(answer.errors).toBeUndefined();
      answers.push(answer.data);
    }
    const [added, listed] = answers as [
      { upsertUser: { id: number }; rate: { rating: number } },
      { recommendations: { movie: { title: string } }[] },
    ];
    expect(added.rate.rating).toBe(5);
    expect(listed.recommendations.length).toBeGreaterThan(0);
  });

  it("runs each operation of GraphiQL's preloaded example", async () => {
    const operations = parse(DEFAULT_QUERY).definitions as OperationDefinitionNode[];
    expect(operations.length).toBeGreaterThan(0);
    for (const operation of operations) {
      const response = await graphql<Record<string, unknown[]>>(app.url, print(operation));
      expect(response.errors).toBeUndefined();
      for (const list of Object.values(response.data ?? {})) expect(list.length).toBeGreaterThan(0);
    }
  });
});
