import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestApi, startTestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/**
 * graphql-codegen pointed at the running server's URL (not the committed schema file): it loads
 * the schema by the standard introspection query, under the server's default query limits.
 */
describe('graphql-codegen against the live URL', () => {
  let db: TestDatabase;
  let api: TestApi;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    api = await startTestApi(db.dataSource);
    dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-codegen-'));
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('generates the typed operations from the introspected schema', async () => {
    const output = path.join(dir, 'graphql.ts');
    const config = path.join(dir, 'codegen.json');
    // The repository's codegen.yml, with the live URL for the committed schema file.
    await writeFile(
      config,
      JSON.stringify({
        overwrite: true,
        schema: api.url,
        documents: path.join(ROOT, 'client/operations/**/*.graphql'),
        generates: {
          [output]: {
            plugins: ['typescript-operations', './client/codegen/typed-documents.mjs'],
            config: { enumType: 'const', strictScalars: true, scalars: { DateTimeISO: 'string' } },
          },
        },
      }),
    );
    const cli = path.join(ROOT, 'node_modules/@graphql-codegen/cli/esm/bin.js');
    await run(process.execPath, [cli, '--config', config], { cwd: ROOT, timeout: 100_000 });
    const generated = await readFile(output, 'utf8');
    for (const name of [
      'export type RecommendationsQuery',
      'export type OnboardMutation',
      'export type TrendingQuery',
      'export type MyRecommendationsQuery',
      'export const RecommendationsDocument: TypedDocument<RecommendationsQuery, RecommendationsQueryVariables>',
      'export const Strategy = {',
    ])
      expect(generated).toContain(name);
    expect(generated).not.toContain('export enum');
  });
});
