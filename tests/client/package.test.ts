import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { startTestApi, TestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { importSyntheticCatalog } from '../helpers/synthetic-database';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLIENT = path.join(ROOT, 'client');
/** The repository's compiler checks the apps; what they import resolves inside their own folders only. */
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
/** npm as a user runs it: not the settings of an `npm test` this may run under (npm_config_* and the like). */
const NPM_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
);

/**
 * The app every module setting compiles and runs: a query and a mutation with typed results, and the
 * error-code union. Each `@ts-expect-error` fails the typecheck if the types degrade to any (the
 * line then has no error), and reading a field fails it if they degrade to unknown.
 */
const APP = `
import {
  CinegraphClient,
  CinegraphRequestError,
  ERROR_CODES,
  MoviesDocument,
  MyRecommendationsDocument,
  OnboardDocument,
  RateDocument,
  Strategy,
  type CinegraphErrorCode,
  type ResultOf,
} from '@cinegraph/client';

// No DOM or Node types: the package's own types must not need them.
declare const process: { argv: string[] };
declare const console: { log(line: string): void };

type IsAny<T> = 0 extends 1 & T ? true : false;
const onboardIsTyped: IsAny<ResultOf<typeof OnboardDocument>> = false;

async function main(url: string, setting: string): Promise<void> {
  const client = new CinegraphClient({ url });
  const page = await client.request(MoviesDocument, { first: 5 });
  const ids: number[] = page.movies.edges.map((edge) => edge.node.id);

  const onboarded = await client.request(OnboardDocument, {
    ratings: ids.map((movieId, i) => ({ movieId, rating: i % 2 === 0 ? 5 : 2 })),
  });
  const token: string = onboarded.onboard.token;
  const userId: number = onboarded.onboard.user.id;
  // @ts-expect-error a field the operation does not select
  void onboarded.onboard.user.email;

  const mine = await client.withToken(token).request(MyRecommendationsDocument, {
    strategy: Strategy.Hybrid,
    first: 3,
  });
  if (!mine.me) throw new Error('me is null with a token');
  const first = mine.me.recommendations[0];
  const strategyUsed: Strategy = first.strategyUsed;
  const title: string = first.movie.title;
  // @ts-expect-error the score is a number
  const notAString: string = first.score;
  void notAString;

  let code: CinegraphErrorCode | undefined;
  try {
    await client.request(RateDocument, { movieId: ids[0], rating: 4 });
  } catch (error) {
    if (!(error instanceof CinegraphRequestError)) throw error;
    code = error.code;
  }
  if (code !== 'UNAUTHENTICATED') throw new Error('rating without a token answered ' + String(code));
  // @ts-expect-error not a code the server answers with
  const unknownCode: CinegraphErrorCode = 'TEAPOT';
  void unknownCode;

  console.log(
    JSON.stringify({
      setting,
      onboardIsTyped,
      userId,
      ratingsCount: mine.me.ratingsCount,
      recommendations: mine.me.recommendations.length,
      strategyUsed,
      title,
      code,
      codes: ERROR_CODES.length,
    }),
  );
}

// Variables are checked too; never called.
export async function wrongVariables(client: CinegraphClient): Promise<void> {
  // @ts-expect-error movieId is an Int
  await client.request(RateDocument, { movieId: 'one', rating: 4 });
  // @ts-expect-error the variables are required
  await client.request(RateDocument);
}

main(process.argv[2], process.argv[3]).catch((error: unknown) => {
  console.log('FAILED ' + String(error));
  throw error;
});
`;

interface Setting {
  name: string;
  type: 'commonjs' | 'module';
  compilerOptions: Record<string, unknown>;
  /** The client build the app must load at run time. */
  build: 'cjs' | 'esm';
}

const SETTINGS: Setting[] = [
  { name: 'commonjs', type: 'commonjs', compilerOptions: { module: 'commonjs' }, build: 'cjs' },
  {
    name: 'nodenext',
    type: 'module',
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', verbatimModuleSyntax: true },
    build: 'esm',
  },
  {
    name: 'bundler',
    type: 'module',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', verbatimModuleSyntax: true },
    build: 'esm',
  },
];

async function typescriptVersion(): Promise<[number, number]> {
  const { version } = JSON.parse(
    await readFile(path.join(ROOT, 'node_modules/typescript/package.json'), 'utf8'),
  );
  const [major, minor] = String(version).split('.').map(Number);
  return [major, minor];
}

describe('@cinegraph/client packed, installed outside the repository and run against a live server', () => {
  let db: TestDatabase;
  let api: TestApi;
  let scratch: string;
  let tarball: string;
  let packedFiles: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    await importSyntheticCatalog(db.dataSource, generateSyntheticCatalog({ seed: 5, users: 20, movies: 40 }));
    api = await startTestApi(db.dataSource);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-client-app-'));
    // prepack builds dist/ (both module formats) before packing.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], {
      cwd: CLIENT,
      env: NPM_ENV,
      timeout: 240_000,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(scratch, packed.filename);
    packedFiles = packed.files.map((file) => file.path).sort();
  }, 300_000);

  afterAll(async () => {
    await api?.stop();
    await db?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('packs the two builds, their types and nothing of the sources', () => {
    expect(path.basename(tarball)).toBe('cinegraph-client-0.1.0.tgz');
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/cjs/package.json',
        'dist/cjs/index.js',
        'dist/cjs/index.d.ts',
        'dist/cjs/generated/graphql.js',
        'dist/esm/package.json',
        'dist/esm/index.js',
        'dist/esm/index.d.ts',
        'dist/esm/generated/graphql.js',
      ]),
    );
    expect(packedFiles.filter((file) => !file.startsWith('dist/') && file !== 'package.json')).toEqual([]);
    expect(packedFiles.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it.each(SETTINGS)(
    'typechecks strictly and runs in the $name setting',
    async (setting) => {
      const app = path.join(scratch, setting.name);
      await mkdir(app);
      await writeFile(
        path.join(app, 'package.json'),
        JSON.stringify({ name: `app-${setting.name}`, private: true, type: setting.type }),
      );
      // Installed like any dependency: the package declares none, so nothing else is fetched.
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
        cwd: app,
        env: NPM_ENV,
        timeout: 120_000,
      });
      const [major, minor] = await typescriptVersion();
      await writeFile(
        path.join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2022'],
            types: [],
            strict: true,
            skipLibCheck: false,
            ...(major > 5 || (major === 5 && minor >= 8) ? { erasableSyntaxOnly: true } : {}),
            ...setting.compilerOptions,
          },
          files: ['app.ts'],
        }),
      );
      await writeFile(path.join(app, 'app.ts'), APP);

      const check = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], {
        cwd: app,
        timeout: 120_000,
      }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
      expect(check.stdout).toBe('');

      const { stdout } = await run(process.execPath, ['app.js', api.url, setting.name], {
        cwd: app,
        timeout: 60_000,
      });
      const result = JSON.parse(stdout.trim());
      expect(result).toMatchObject({
        setting: setting.name,
        onboardIsTyped: false,
        ratingsCount: 5,
        recommendations: 3,
        code: 'UNAUTHENTICATED',
      });
      expect(result.userId).toBeGreaterThan(0);
      expect(['HYBRID', 'STATISTICAL']).toContain(result.strategyUsed);
      expect(typeof result.title).toBe('string');
      expect(result.codes).toBeGreaterThan(10);

      // Which build Node loaded for this app.
      const resolve =
        setting.type === 'module'
          ? ['--input-type=module', '-e', "console.log(import.meta.resolve('@cinegraph/client'))"]
          : ['-e', "console.log(require.resolve('@cinegraph/client'))"];
      const resolved = (await run(process.execPath, resolve, { cwd: app })).stdout.trim();
      expect(resolved).toMatch(
        new RegExp(`node_modules/@cinegraph/client/dist/${setting.build}/index\\.js$`),
      );
      process.stdout.write(`client app (${setting.name}): ${stdout}`);
    },
    240_000,
  );
});
