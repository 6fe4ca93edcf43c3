import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { answerHelp } from '../cli-help';
import { buildGraphQLSchema, printSchemaFile, SCHEMA_FILE } from './schema';

const USAGE = `Usage: npm run schema:emit | npm run schema:check

Prints the GraphQL schema built from the resolvers into schema/schema.graphql (schema:emit), or, with
--check (schema:check), exits 1 when the committed file differs from it.

  --check      compare instead of writing
  -h, --help   print this text`;

/** `--check` fails when schema/schema.graphql is stale (CI); otherwise it rewrites the file. */
async function main(): Promise<void> {
  answerHelp(USAGE);
  const sdl = printSchemaFile(await buildGraphQLSchema());
  if (process.argv.includes('--check')) {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (committed !== sdl) {
      console.error(
        `${path.relative(process.cwd(), SCHEMA_FILE)} is stale: run npm run schema:emit and commit it`,
      );
      process.exit(1);
    }
    console.log('schema/schema.graphql is up to date');
    return;
  }
  await mkdir(path.dirname(SCHEMA_FILE), { recursive: true });
  await writeFile(SCHEMA_FILE, sdl);
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
