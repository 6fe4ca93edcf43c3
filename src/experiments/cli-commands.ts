import { parseArgs } from 'node:util';
import { ExperimentInput } from './definition';
import { ExperimentService } from './experiment-service';
import { reportMarkdown } from './report';
import { StoredExperiment } from './store';

export const EXPERIMENTS_USAGE = `Usage: npm run experiments -- <command> [options]

A/B experiments: each user is assigned a variant by a stable hash of the experiment name and the
user id (sticky; independent between experiments), and recommendation requests that leave strategy,
weights and diversity open get their variant's settings; every such list names its experiment and
variant. At most one experiment is active at a time. Running servers pick up a created or stopped
experiment within EXPERIMENT_REFRESH_MS (default 10000 ms). Works against DATABASE_URL, or, when
DATABASE_URL is unset, against the embedded database in DATA_DIR/pglite (stop the server first: the
embedded database belongs to one process at a time). Pending migrations are run first.

Commands:
  create --name <name> --variant <spec> --variant <spec> [...] [--control <variant>]
                      define and start an experiment (control: the first variant unless named)
  list [--json]       every experiment, newest first, with its variants
  stop --name <name>  stop an experiment for good (its report stays)
  report --name <name> [--since <ISO time>] [--until <ISO time>] [--json]
                      per-variant metrics as a Markdown table (default window: the whole run)

A variant spec is <name>:<key>=<value>[:<key>=<value>...] with the keys
  strategy      HYBRID | COLLABORATIVE | CONTENT | STATISTICAL (required)
  share         fraction of users, > 0; the shares of an experiment sum to 1 (required)
  collaborative, content, statistical
                HYBRID engine weights (optional; missing ones keep the weights in force)
  diversity     MMR diversity 0–1 (optional, default 0)

The report: per variant, users, lists served, impressions (distinct list items with any event),
CTR (clicks / impressions), watch-through (watches of at least 80% / clicks), NDCG@10 of the
user's positive events (CLICK, watch ≥ 80%) in the 24 h after each list; each with a 95% interval
and, against control, the lift and the p-value of a z-test with user-clustered variances
(delta method); "p (iid)" is the textbook two-proportion z-test, which treats every impression as
independent. p < 0.05 is printed in bold.

Examples:
  npm run experiments -- create --name cf-vs-hybrid \\
      --variant control:strategy=HYBRID:share=0.5 --variant cf:strategy=COLLABORATIVE:share=0.5
  npm run experiments -- create --name weights-2 --variant control:strategy=HYBRID:share=0.34 \\
      --variant content-heavy:strategy=HYBRID:share=0.33:content=0.6:collaborative=0.3:statistical=0.1 \\
      --variant diverse:strategy=HYBRID:share=0.33:diversity=0.3
  npm run experiments -- report --name cf-vs-hybrid --since 2026-12-01T00:00:00Z
  npm run experiments -- stop --name cf-vs-hybrid

  -h, --help   print this text`;

export class UsageError extends Error {}

export type ExperimentsCommand =
  | { name: 'create'; input: ExperimentInput }
  | { name: 'list'; json: boolean }
  | { name: 'stop'; experiment: string }
  | { name: 'report'; experiment: string; since: Date | null; until: Date | null; json: boolean };

const SPEC_KEYS = new Set(['strategy', 'share', 'collaborative', 'content', 'statistical', 'diversity']);

function number(text: string, what: string): number {
  // Number('') is 0 and Number(' 1') is 1: only plain decimals are numbers here.
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text))
    throw new UsageError(`${what} must be a number, got "${text}"`);
  return Number(text);
}

/** `b:strategy=COLLABORATIVE:share=0.5:diversity=0.2` → one variant of an ExperimentInput. */
export function parseVariantSpec(spec: string): ExperimentInput['variants'][number] {
  const [name, ...pairs] = spec.split(':');
  const values = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const key = at > 0 ? pair.slice(0, at).trim().toLowerCase() : '';
    if (!SPEC_KEYS.has(key))
      throw new UsageError(
        `variant ${name}: "${pair}" is not one of ${[...SPEC_KEYS].join(', ')} as key=value`,
      );
    if (values.has(key)) throw new UsageError(`variant ${name}: ${key} is given twice`);
    values.set(key, pair.slice(at + 1).trim());
  }
  const strategy = values.get('strategy');
  const share = values.get('share');
  if (strategy === undefined || share === undefined)
    throw new UsageError(
      `variant ${name}: strategy= and share= are required (e.g. ${name}:strategy=HYBRID:share=0.5)`,
    );
  const weights: Record<string, number> = {};
  for (const engine of ['collaborative', 'content', 'statistical']) {
    const value = values.get(engine);
    if (value !== undefined) weights[engine] = number(value, `variant ${name}: ${engine}`);
  }
  const diversity = values.get('diversity');
  return {
    name,
    strategy: strategy.toUpperCase(),
    share: number(share, `variant ${name}: share`),
    weights: Object.keys(weights).length > 0 ? weights : null,
    diversity: diversity === undefined ? null : number(diversity, `variant ${name}: diversity`),
  };
}

function date(text: string | undefined, what: string): Date | null {
  if (text === undefined) return null;
  const parsed = new Date(text);
  if (Number.isNaN(parsed.getTime())) throw new UsageError(`${what} must be an ISO 8601 time, got "${text}"`);
  return parsed;
}

export function parseExperimentsCommand(argv: readonly string[]): ExperimentsCommand {
  const { values, positionals } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      name: { type: 'string' },
      variant: { type: 'string', multiple: true },
      control: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [command, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  const only = (allowed: readonly string[]) => {
    const extra = Object.keys(values).find((option) => !allowed.includes(option));
    if (extra) throw new UsageError(`${command} takes no --${extra}`);
  };
  const name = (): string => {
    if (!values.name) throw new UsageError(`${command} needs --name`);
    return values.name;
  };
  switch (command) {
    case 'create':
      only(['name', 'variant', 'control']);
      return {
        name: 'create',
        input: {
          name: name(),
          control: values.control ?? null,
          variants: (values.variant ?? []).map(parseVariantSpec),
        },
      };
    case 'list':
      only(['json']);
      return { name: 'list', json: values.json ?? false };
    case 'stop':
      only(['name']);
      return { name: 'stop', experiment: name() };
    case 'report':
      only(['name', 'since', 'until', 'json']);
      return {
        name: 'report',
        experiment: name(),
        since: date(values.since, '--since'),
        until: date(values.until, '--until'),
        json: values.json ?? false,
      };
    case undefined:
      throw new UsageError('a command is needed');
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

export function describeExperiment(e: StoredExperiment): string {
  const when = e.stoppedAt
    ? `${e.createdAt.toISOString()} – ${e.stoppedAt.toISOString()}`
    : `since ${e.createdAt.toISOString()}`;
  const lines = [`${e.name}\t${e.status}\t${when}`];
  for (const v of e.variants) {
    const parts = [`strategy=${v.strategy}`, `share=${v.share}`];
    for (const [engine, weight] of Object.entries(v.weights ?? {})) parts.push(`${engine}=${weight}`);
    if (v.diversity !== null) parts.push(`diversity=${v.diversity}`);
    lines.push(`  ${v.name}${v.name === e.control ? ' (control)' : ''}\t${parts.join(':')}`);
  }
  return lines.join('\n');
}

/** Runs one command; what it prints goes to `out` (stdout), remarks to `note` (stderr). */
export async function runExperimentsCommand(
  experiments: ExperimentService,
  command: ExperimentsCommand,
  out: (text: string) => void,
  note: (text: string) => void,
): Promise<void> {
  switch (command.name) {
    case 'create': {
      const created = await experiments.create(command.input);
      note(
        `created and started experiment ${created.name}; running servers apply it within EXPERIMENT_REFRESH_MS`,
      );
      out(describeExperiment(created));
      return;
    }
    case 'list': {
      const all = await experiments.list();
      if (command.json) out(JSON.stringify(all, null, 2));
      else if (all.length === 0) note('no experiments');
      else out(all.map(describeExperiment).join('\n'));
      return;
    }
    case 'stop': {
      const stopped = await experiments.stop(command.experiment);
      out(describeExperiment(stopped));
      return;
    }
    case 'report': {
      const report = await experiments.report(command.experiment, {
        since: command.since,
        until: command.until,
      });
      if (command.json) {
        out(JSON.stringify(report, null, 2));
        return;
      }
      const window = `${new Date(report.window.since).toISOString()} – ${new Date(report.window.until).toISOString()}`;
      out(
        `Experiment ${report.experiment} (${report.status}), control ${report.control}, lists served ${window}\n`,
      );
      out(reportMarkdown(report));
      return;
    }
  }
}
