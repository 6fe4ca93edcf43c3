import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVER_NODE_FLAGS } from '../../scripts/bench-load';
import { FIRST_MODEL_HEAP_MB, trainingChildFlags } from '../../training/first-model';

const ROOT = path.resolve(__dirname, '../..');
const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** The V8 flags (`--…` before the first `-r` or file) of a `node …` command line. */
function v8Flags(words: readonly string[]): string[] {
  const start = words.indexOf('node') + 1;
  const flags: string[] = [];
  for (const word of words.slice(start)) {
    if (!word.startsWith('--')) break;
    flags.push(word);
  }
  return flags;
}

describe('the server is measured with the flags it is deployed with', () => {
  it('npm start, npm run worker and the Docker image use SERVER_NODE_FLAGS, which the benchmarks start servers with', () => {
    expect(v8Flags(scripts.start.split(' '))).toEqual(SERVER_NODE_FLAGS);
    expect(v8Flags(scripts.worker.split(' '))).toEqual(SERVER_NODE_FLAGS);
    const cmd = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('CMD '))
      .pop() as string;
    expect(v8Flags(JSON.parse(cmd.slice(4)) as string[])).toEqual(SERVER_NODE_FLAGS);
  });
});

describe("the training child's flags", () => {
  it('keep the serving flags but the heap growth, and set the heap limit the training is budgeted for', () => {
    const flags = trainingChildFlags(
      [...SERVER_NODE_FLAGS, '--max-old-space-size=8192', '-r', '@swc-node/register'],
      true,
    );
    expect(flags).toEqual([
      '--max-semi-space-size=128',
      '--interrupt-budget=8000',
      '-r',
      '@swc-node/register',
      `--max-old-space-size=${FIRST_MODEL_HEAP_MB}`,
    ]);
    // From compiled JavaScript, nothing to register; from TypeScript without it, registered.
    expect(trainingChildFlags([], false)).toEqual([`--max-old-space-size=${FIRST_MODEL_HEAP_MB}`]);
    expect(trainingChildFlags([], true)).toEqual([
      '-r',
      '@swc-node/register',
      `--max-old-space-size=${FIRST_MODEL_HEAP_MB}`,
    ]);
  });
});
