/**
 * Prints the A/B and A/A report tables of the simulated experiment the tests use
 * (fixtures/experiment-simulation.ts) and the false-positive rate over seeded A/A runs.
 *
 *   node -r @swc-node/register scripts/experiments-simulate.ts [--seed 1] [--users 400] [--aa-runs 200]
 */
import { aaFalsePositiveRates, aaSimulation, abSimulation } from '../fixtures/experiment-simulation';
import { answerHelp } from '../src/cli-help';
import { reportMarkdown } from '../src/experiments/report';

const USAGE = `usage: node -r @swc-node/register scripts/experiments-simulate.ts [--seed N] [--users N] [--aa-runs N]
  Simulated users with planted latent preferences answer the lists of two variants; prints the
  experiment report of an A/B case (b ranks with half the noise of control), of an A/A case, and the
  share of A/A runs with p < 0.05 per metric (seeds 1..aa-runs, 200 users each).
  --seed N      seed of the A/B and A/A cases (default 1)
  --users N     users in the A/B and A/A cases (default 400)
  --aa-runs N   seeded A/A runs for the false-positive rate (default 200; 0 skips)`;

answerHelp(USAGE);

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`--${name} must be a non-negative integer\n\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
}

const seed = flag('seed', 1);
const users = flag('users', 400);
const runs = flag('aa-runs', 200);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

process.stdout.write(
  `A/B (seed ${seed}, ${users} users; b truly ranks better):\n\n${reportMarkdown(abSimulation(seed, users).report)}\n\n`,
);
process.stdout.write(
  `A/A (seed ${seed}, ${users} users; identical variants):\n\n${reportMarkdown(aaSimulation(seed, users).report)}\n\n`,
);
if (runs > 0) {
  const rates = aaFalsePositiveRates(runs);
  process.stdout.write(
    `A/A false-positive rate at p < 0.05 over ${runs} seeded runs (200 users each):\n` +
      `  CTR ${pct(rates.ctr)} (per-impression z-test: ${pct(rates.ctrIid)}), watch-through ${pct(rates.watchThrough)}, NDCG@10 ${pct(rates.ndcg10)}\n`,
  );
}
