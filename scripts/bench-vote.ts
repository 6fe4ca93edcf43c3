/**
 * The content vote's two kernels side by side: neighbourVotesOf (the WebAssembly SIMD similarities)
 * against neighbourVotesInJs, on random unit 512-d vectors at the sizes a user's first HYBRID list
 * votes (~250 candidates; 20, 100 and 300 rated movies), interleaved, CPU time of this thread.
 *
 *   node -r @swc-node/register scripts/bench-vote.ts
 */
import { unitVectors } from '../fixtures/unit-vectors';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  CONTENT_SCORING,
  neighbourVotesInJs,
  neighbourVotesOf,
  packRatedNeighbours,
} from '../src/engines/content/neighbour-score';
import { answerHelp } from '../src/cli-help';

answerHelp(`Usage: node -r @swc-node/register scripts/bench-vote.ts

Times the content vote's WebAssembly kernel against its JavaScript loop (ms per call, median of
interleaved rounds) on random 512-d vectors.`);

const unit = unitVectors(3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const DIMENSION = 512;
const CANDIDATES = 250;
process.stdout.write(
  `${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n` + '| rated | JavaScript ms | WebAssembly ms | ratio |\n|---:|---:|---:|---:|\n',
);
for (const ratedCount of [20, 100, 300]) {
  const rated = packRatedNeighbours(
    Array.from({ length: ratedCount }, (_, j) => ({ rating: 1 + (j % 5), vector: unit(DIMENSION) })),
    3,
  )!;
  const candidates = Array.from({ length: CANDIDATES }, () => unit(DIMENSION));
  const times = { js: [] as number[], wasm: [] as number[] };
  for (let round = 0; round < 30; round++) {
    for (const kind of ['js', 'wasm'] as const) {
      const started = performance.now();
      const votes = (kind === 'js' ? neighbourVotesInJs : neighbourVotesOf)(
        candidates,
        rated,
        CONTENT_SCORING,
      );
      times[kind].push(performance.now() - started);
      if (votes.length !== CANDIDATES) throw new Error('wrong vote count');
    }
  }
  const js = median(times.js.slice(5));
  const wasm = median(times.wasm.slice(5));
  process.stdout.write(
    `| ${ratedCount} | ${js.toFixed(2)} | ${wasm.toFixed(2)} | ${(js / wasm).toFixed(2)} |\n`,
  );
}
