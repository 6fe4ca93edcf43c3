/**
 * Validation-only tuning of the top-N candidates (iALS, or EASE with --model ease): carves a
 * validation split from the protocol's TRAINING data (each user's latest 20% under temporal, a
 * seeded random 10% otherwise), fits PureSVD and every setting of a small grid on the rest, and
 * prints validation NDCG@10 / Recall@10 and fit times. The test split is never read.
 *
 *   node -r @swc-node/register scripts/tune-ials.ts --data <dir> --protocol ml100k-u1|temporal \
 *     [--model ials|ease] [--grid "rank=64,128;regularization=0.005,0.01;unobservedWeight=0.05"] [--seed 42]
 */
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { parseFlags, runCli, stringFlag, integerFlag, UsageError } from '../training/cli';
import { prepareFold, rankingMetrics } from '../training/evaluate';
import { DEFAULT_EASE_OPTIONS, DEFAULT_IALS_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from '../training/options';
import { isProtocolName, loadEvaluationPlan } from '../training/protocols';
import { PureSvdStrategy } from '../training/builtin-strategies';
import { EaseStrategy, IalsStrategy } from '../training/topn-strategies';
import { carveValidation } from '../training/validation-split';
import type { EvaluationStrategy } from '../training/strategies';

const USAGE =
  'usage: tune-ials.ts --data <dir> --protocol ml100k-u1|temporal [--model ials|ease] [--grid "key=v1,v2;…"] [--seed 42]';

type Setting = Record<string, number | string>;

function parseGrid(spec: string, defaults: object): Setting[] {
  let settings: Setting[] = [{}];
  for (const part of spec.split(';').filter((p) => p.trim())) {
    const [key, list] = part.split('=');
    if (!(key.trim() in defaults)) throw new UsageError(`unknown option ${key}`);
    // Numbers where they parse (encoding names stay strings).
    const values = list.split(',').map((v) => (Number.isNaN(Number(v)) ? v.trim() : Number(v)));
    settings = settings.flatMap((s) => values.map((v) => ({ ...s, [key.trim()]: v })));
  }
  return settings;
}

async function main(argv: readonly string[]) {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    protocol: { type: 'string' },
    grid: { type: 'string' },
    seed: { type: 'string' },
    model: { type: 'string' },
  });
  const model = stringFlag(values, 'model') ?? 'ials';
  if (model !== 'ials' && model !== 'ease') throw new UsageError('--model must be ials or ease');
  const protocol = stringFlag(values, 'protocol') ?? '';
  if (!isProtocolName(protocol) || protocol === 'split' || protocol === 'ml100k-folds')
    throw new UsageError('--protocol must be ml100k-u1 or temporal');
  const seed = integerFlag(values, 'seed', 42);
  const plan = await loadEvaluationPlan(protocol, { data: stringFlag(values, 'data') });
  const { train } = prepareFold(plan.folds[0]);
  const kind = protocol === 'temporal' ? 'temporal' : 'random';
  const { fit, validation } = carveValidation(train, kind, seed);
  process.stdout.write(
    `${plan.dataset} ${protocol}: ${kind} validation split of the training data: ` +
      `fit ${fit.size}, validation ${validation.size} ratings; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
  );
  const run = async (label: string, strategy: EvaluationStrategy) => {
    const started = performance.now();
    await strategy.fit(fit);
    const fitSeconds = (performance.now() - started) / 1000;
    const metrics = rankingMetrics(strategy, fit, validation);
    process.stdout.write(
      `| ${label} | ${metrics?.ndcg10.toFixed(4)} | ${metrics?.recall10.toFixed(4)} | ${fitSeconds.toFixed(1)} s |\n`,
    );
  };
  process.stdout.write('| model | val NDCG@10 | val Recall@10 | fit |\n|---|---:|---:|---:|\n');
  await run('puresvd (default)', new PureSvdStrategy({ ...DEFAULT_PURE_SVD_OPTIONS, seed }));
  const defaults = model === 'ease' ? DEFAULT_EASE_OPTIONS : DEFAULT_IALS_OPTIONS;
  for (const setting of parseGrid(stringFlag(values, 'grid') ?? '', defaults)) {
    const label = Object.keys(setting).length
      ? Object.entries(setting)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')
      : `${model} (default)`;
    await run(
      label,
      model === 'ease'
        ? new EaseStrategy({ ...DEFAULT_EASE_OPTIONS, ...setting })
        : new IalsStrategy({ ...DEFAULT_IALS_OPTIONS, ...setting, seed }),
    );
  }
}

runCli(main, USAGE);
