import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** Scripts that run tools (jest, tsc, eslint, graphql-codegen, a setup script), not one of our CLIs. */
const NOT_OUR_CLIS = new Set([
  'build',
  'test',
  'test:main',
  'test:transformers',
  'pretest',
  'lint',
  'format',
  'typecheck',
  'codegen',
  'codegen:check',
]);

/** Modules under scripts/ that other scripts import; every other .ts file there is a CLI. */
const SCRIPT_MODULES = new Set([
  'scripts/bench-database.ts',
  'scripts/bench-load.ts',
  'scripts/bench-scale-jobs.ts',
  'scripts/bench-scale-targets.ts',
]);

/** Command-line scripts not wired to an npm script (found, not listed, so a new one cannot skip --help). */
const OTHER_CLIS = readdirSync(path.join(ROOT, 'scripts'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => `scripts/${name}`)
  .filter(
    (file) => !SCRIPT_MODULES.has(file) && !Object.values(scripts).some((command) => command.includes(file)),
  );

const run = promisify(execFile);
// Help must come before any configuration is read: a broken environment must not hide it.
const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', PORT: 'not-a-port' };
const withBin = {
  ...env,
  PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
};

describe('every CLI answers --help with its usage, exit code 0', () => {
  const npmScripts = Object.keys(scripts).filter((name) => !NOT_OUR_CLIS.has(name));

  it('knows every npm script: our CLIs are the rest', () => {
    expect(npmScripts.sort()).toEqual(
      [
        'bench:collaborative',
        'bench:freshness',
        'bench:hostile',
        'bench:import',
        'bench:instances',
        'bench:overhead',
        'bench:scale',
        'bench:serve',
        'bench:trending',
        'embed',
        'eval:watch',
        'evaluate',
        'experiments',
        'generate',
        'import',
        'keys',
        'migrate',
        'schema:check',
        'schema:emit',
        'start',
        'train',
        'worker',
      ].sort(),
    );
  });

  it.each(npmScripts)('npm run %s -- --help', async (name) => {
    // The script's own command line, as npm would run it (without npm's second of start-up).
    const { stdout } = await run('sh', ['-c', `${scripts[name]} --help`], { cwd: ROOT, env: withBin });
    expect(stdout).toMatch(/^usage: /i);
    expect(stdout.length).toBeGreaterThan(60);
  });

  it.each(OTHER_CLIS)('%s --help', async (file) => {
    const { stdout } = await run(
      process.execPath,
      ['-r', require.resolve('@swc-node/register'), file, '--help'],
      { cwd: ROOT, env },
    );
    expect(stdout).toMatch(/^usage: /i);
  });
});
