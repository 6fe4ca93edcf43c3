import { promises as fs } from 'node:fs';
import path from 'node:path';
import { registerBuiltinStrategies } from './builtin-strategies';
import { integerFlag, parseFlags, runCli, stringFlag, UsageError } from './cli';
import { formatMarkdownTable, runEvaluation, validationPlan, type EvaluationReport } from './evaluate';
import { registerHybridStrategies } from './hybrid-strategies';
import { isProtocolName, loadEvaluationPlan, PROTOCOLS, type ProtocolName } from './protocols';
import { recordQualityRun, renderQualityReport } from './quality-report';
import { registeredStrategies } from './strategies';
import { registerTopNStrategies } from './topn-strategies';

export const EVALUATE_USAGE = `usage: npm run evaluate -- --data <movielens dir> --protocol <${PROTOCOLS.join(' | ')}>
         [--train <file> --test <file>] [--strategies popularity,baseline,svd] [--json <out.json>]
         [--seed 42] [--threads 1] [--overviews <tmdb_5000_movies.csv>] [--report <dir>]
         [--validation-only]

protocols:
  ml100k-folds  official u1..u5 splits of ml-100k: rating metrics per fold and their mean, ranking on u1
  ml100k-u1     the u1 split alone
  temporal      per user, ratings sorted by (timestamp, movieId), the last ceil(0.2·n) are the test set
  split         any --train/--test pair of MovieLens rating files

--report <dir> adds the run to a one-page quality report there (README.md + quality.svg, one run per
dataset and protocol); --report <dir> --render-only re-renders it from the runs already there.
--overviews adds TMDB overviews to the content strategies' movie texts (by links.csv, else title + year).
--validation-only never reads a test set: each fold's training data is split into fit and validation
(temporal: each user's latest 20%; otherwise a seeded random 10%) and the strategies are scored on
that validation part. Make choices with it; evaluate the test set once, afterwards.`;

export interface EvaluateArgs {
  readonly protocol: ProtocolName;
  readonly data?: string;
  readonly train?: string;
  readonly test?: string;
  readonly strategies: string[];
  readonly json?: string;
  readonly seed: number;
  readonly threads: number;
  readonly report?: string;
  readonly validationOnly: boolean;
}

export function parseEvaluateArgs(argv: readonly string[]): EvaluateArgs | 'help' | { renderOnly: string } {
  registerBuiltinStrategies();
  const values = parseFlags(argv, {
    data: { type: 'string' },
    protocol: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    strategies: { type: 'string' },
    json: { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string' },
    overviews: { type: 'string' },
    report: { type: 'string' },
    'render-only': { type: 'boolean' },
    'validation-only': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  if (values['render-only']) {
    const report = stringFlag(values, 'report');
    if (!report) throw new UsageError('--render-only needs --report <dir>');
    return { renderOnly: report };
  }
  const protocol = stringFlag(values, 'protocol');
  if (protocol === undefined) throw new UsageError('--protocol is required');
  if (!isProtocolName(protocol)) {
    throw new UsageError(`unknown protocol "${protocol}" (expected one of: ${PROTOCOLS.join(', ')})`);
  }
  const data = stringFlag(values, 'data');
  const train = stringFlag(values, 'train');
  const test = stringFlag(values, 'test');
  const movieDirectory = data ?? (train && path.dirname(train));
  // Registered again now that the data is known: the rating models read its movies file.
  registerBuiltinStrategies({ movieDirectory });
  const overviewsFile = stringFlag(values, 'overviews');
  registerHybridStrategies({ movieDirectory, overviewsFile });
  registerTopNStrategies();
  if (protocol === 'split') {
    if (!train || !test) throw new UsageError('--protocol split needs --train <file> and --test <file>');
  } else {
    if (!data) throw new UsageError(`--protocol ${protocol} needs --data <movielens dir>`);
    if (train || test) throw new UsageError('--train/--test only apply to --protocol split');
  }
  const strategies = (stringFlag(values, 'strategies') ?? 'popularity,baseline,svd')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (strategies.length === 0) throw new UsageError('--strategies is empty');
  const known = registeredStrategies().map((registration) => registration.name);
  const unknown = strategies.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown strateg${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')} (known: ${known.join(', ')})`,
    );
  }
  return {
    protocol,
    data,
    train,
    test,
    strategies,
    json: stringFlag(values, 'json'),
    seed: integerFlag(values, 'seed', 42),
    threads: integerFlag(values, 'threads', 1, 1),
    report: stringFlag(values, 'report'),
    validationOnly: values['validation-only'] === true,
  };
}

export async function evaluateMain(argv: readonly string[]): Promise<EvaluationReport | null> {
  const args = parseEvaluateArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${EVALUATE_USAGE}\n`);
    return null;
  }
  if ('renderOnly' in args) {
    const { page, chart } = await renderQualityReport(args.renderOnly);
    process.stdout.write(`report: ${page}\nchart:  ${chart}\n`);
    return null;
  }
  const validationSplit = args.protocol === 'temporal' ? 'temporal' : 'random';
  if (args.validationOnly && args.report)
    throw new UsageError('--report records test figures; --validation-only runs are printed, not recorded');
  const loaded = await loadEvaluationPlan(args.protocol, args);
  const plan = args.validationOnly ? validationPlan(loaded, validationSplit, args.seed) : loaded;
  const report = await runEvaluation(
    plan,
    args.strategies,
    { seed: args.seed, threads: args.threads, validationSplit },
    (name, fold) =>
      process.stderr.write(
        `${name} ${fold.fold}: rmse ${fold.rmse?.toFixed(4) ?? '–'} ndcg@10 ${fold.ndcg10?.toFixed(4) ?? '–'} ` +
          `(fit ${fold.trainSeconds.toFixed(2)} s, evaluate ${fold.evaluateSeconds.toFixed(2)} s)\n`,
      ),
  );
  process.stdout.write(`${formatMarkdownTable(report)}\n`);
  if (args.json) {
    await fs.mkdir(path.dirname(path.resolve(args.json)), { recursive: true });
    await fs.writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (args.report) {
    const { page, chart } = await recordQualityRun(args.report, report, argv);
    process.stdout.write(`report: ${page}\nchart:  ${chart}\n`);
  }
  return report;
}

if (require.main === module) {
  runCli(async (argv) => {
    await evaluateMain(argv);
  }, EVALUATE_USAGE);
}
