import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  comparisonTable,
  signed,
  signedInterval,
  type EvaluationReport,
  type StrategyResult,
} from './evaluate';

/** One evaluation run as kept in the report directory: the results and where they were measured. */
export interface QualityRun {
  readonly report: EvaluationReport;
  /** ISO time the run finished. */
  readonly measuredAt: string;
  /** `uptime`'s 1-, 5- and 15-minute load averages at the end of the run, and the core count. */
  readonly loadAverage: readonly number[];
  readonly cores: number;
  /** The command line's arguments after `npm run evaluate --`. */
  readonly arguments: readonly string[];
}

export const QUALITY_PAGE = 'README.md';
export const QUALITY_CHART = 'quality.svg';

/** The run's file name in the report directory: one file per dataset and protocol, replaced by a rerun. */
export function runFileName(report: EvaluationReport): string {
  const slug = `${report.dataset}-${report.protocol}`.replace(/[^A-Za-z0-9.+-]+/g, '_');
  return `${slug}.json`;
}

/** Adds (or replaces) a run in `dir`, then re-renders the page and the chart from every run there. */
export async function recordQualityRun(
  dir: string,
  report: EvaluationReport,
  args: readonly string[],
  now = new Date(),
): Promise<{ page: string; chart: string }> {
  await fs.mkdir(dir, { recursive: true });
  const run: QualityRun = {
    report,
    measuredAt: now.toISOString(),
    loadAverage: os.loadavg().map((value) => Number(value.toFixed(2))),
    cores: os.cpus().length,
    arguments: args,
  };
  await fs.writeFile(path.join(dir, runFileName(report)), `${JSON.stringify(run, null, 2)}\n`);
  return renderQualityReport(dir);
}

/** Reads every run in `dir` (sorted by file name) and writes the Markdown page and the SVG chart. */
export async function renderQualityReport(dir: string): Promise<{ page: string; chart: string }> {
  const runs: QualityRun[] = [];
  for (const file of (await fs.readdir(dir)).filter((name) => name.endsWith('.json')).sort()) {
    const parsed = JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')) as Partial<QualityRun>;
    if (parsed.report?.results) runs.push(parsed as QualityRun);
  }
  const page = path.join(dir, QUALITY_PAGE);
  const chart = path.join(dir, QUALITY_CHART);
  await fs.writeFile(page, qualityMarkdown(runs));
  await fs.writeFile(chart, qualitySvg(runs));
  return { page, chart };
}

function label(run: QualityRun): string {
  return `${run.report.dataset} · ${run.report.protocol}`;
}

function cell(value: number | null, digits = 4): string {
  return value === null ? '–' : value.toFixed(digits);
}

/** Strategies in first-seen order across runs. */
function strategiesOf(runs: readonly QualityRun[]): string[] {
  const names: string[] = [];
  for (const run of runs)
    for (const result of run.report.results)
      if (!names.includes(result.strategy)) names.push(result.strategy);
  return names;
}

function resultOf(run: QualityRun, strategy: string): StrategyResult | undefined {
  return run.report.results.find((result) => result.strategy === strategy);
}

export function qualityMarkdown(runs: readonly QualityRun[]): string {
  const strategies = strategiesOf(runs);
  const lines = [
    '# Ranking quality',
    '',
    'Written by `npm run evaluate -- … --report docs/quality/`: one run per dataset and protocol, a rerun',
    'replaces its own. NDCG@10, Recall@10 and catalog coverage of the top 10 over every unrated item',
    '(relevant: test ratings ≥ 4); RMSE where the strategy predicts ratings. Every choice behind these',
    'strategies was made on validation splits carved from the training data; each test set was evaluated',
    'once, after choosing.',
    '',
    `![NDCG@10, Recall@10 and coverage per strategy and protocol](${QUALITY_CHART})`,
    '',
    '## NDCG@10',
    '',
    `| strategy | ${runs.map(label).join(' | ')} |`,
    `|---|${runs.map(() => '---:').join('|')}|`,
    ...strategies.map(
      (strategy) =>
        `| ${strategy} | ${runs.map((run) => cell(resultOf(run, strategy)?.ndcg10 ?? null)).join(' | ')} |`,
    ),
    '',
    ...blendSummary(runs),
    '## Every metric',
    '',
  ];
  for (const run of runs) {
    lines.push(
      `### ${label(run)}`,
      '',
      `Measured ${run.measuredAt}, ` +
        (run.loadAverage.length > 0
          ? `load average ${run.loadAverage.join(' ')} on ${run.cores} cores; `
          : `load average not recorded (${run.cores} cores); `) +
        `\`npm run evaluate -- ${run.arguments.join(' ')}\``,
      '',
      '| strategy | NDCG@10 | Recall@10 | Coverage | RMSE | train s |',
      '|---|---:|---:|---:|---:|---:|',
      ...run.report.results.map(
        (r) =>
          `| ${r.strategy} | ${cell(r.ndcg10)} | ${cell(r.recall10)} | ${cell(r.coverage)} | ${cell(r.rmse)} | ` +
          `${r.trainSeconds.toFixed(1)} |`,
      ),
      '',
    );
    const notes = run.report.results.flatMap((r) =>
      (r.fitNotes ?? []).map((note) => `- ${r.strategy}: ${note}`),
    );
    if (notes.length > 0) lines.push('Chosen on validation inside the training data:', '', ...notes, '');
    if (run.report.comparisons?.length)
      lines.push(
        'Each strategy that blends engines against the best one that does not, user by user on this test set:',
        '',
        ...comparisonTable(run.report.comparisons),
        '',
      );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * One row per blending strategy, one column per run: its paired difference from that run's best
 * unblended strategy; empty where no run has comparisons (reports written before them).
 */
function blendSummary(runs: readonly QualityRun[]): string[] {
  const blends = [...new Set(runs.flatMap((run) => (run.report.comparisons ?? []).map((c) => c.strategy)))];
  if (blends.length === 0) return [];
  const cellOf = (run: QualityRun, strategy: string) => {
    const found = (run.report.comparisons ?? []).filter((c) => c.strategy === strategy);
    return found.length === 1
      ? `${signed(found[0].difference)} ${signedInterval(found[0])} vs ${found[0].against}`
      : '–';
  };
  return [
    '## Blends against the best single strategy',
    '',
    'Δ NDCG@10 of each strategy that blends engines minus the best strategy that does not, on the same',
    'test users, with a 95% paired bootstrap interval: where it holds zero, the test set cannot tell them apart.',
    '',
    `| strategy | ${runs.map(label).join(' | ')} |`,
    `|---|${runs.map(() => '---').join('|')}|`,
    ...blends.map((strategy) => `| ${strategy} | ${runs.map((run) => cellOf(run, strategy)).join(' | ')} |`),
    '',
  ];
}

const METRICS = [
  { key: 'ndcg10', name: 'NDCG@10', colour: '#1f77b4' },
  { key: 'recall10', name: 'Recall@10', colour: '#ff7f0e' },
  { key: 'coverage', name: 'Coverage', colour: '#2ca02c' },
] as const;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** One panel per run; in each, a group of three bars (NDCG@10, Recall@10, coverage) per strategy. */
export function qualitySvg(runs: readonly QualityRun[]): string {
  const strategies = strategiesOf(runs);
  const bar = 10;
  const groupWidth = METRICS.length * bar + 14;
  const panelWidth = Math.max(260, strategies.length * groupWidth + 60);
  const panelHeight = 240;
  const plotTop = 40;
  const plotHeight = 140;
  const columns = Math.min(2, Math.max(1, runs.length));
  const width = columns * panelWidth + 20;
  const height = Math.ceil(Math.max(1, runs.length) / columns) * panelHeight + 50;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  METRICS.forEach((metric, m) => {
    parts.push(
      `<rect x="${20 + m * 110}" y="12" width="12" height="12" fill="${metric.colour}"/>`,
      `<text x="${36 + m * 110}" y="22">${metric.name}</text>`,
    );
  });
  runs.forEach((run, r) => {
    const left = 10 + (r % columns) * panelWidth;
    const top = 40 + Math.floor(r / columns) * panelHeight;
    const results = strategies.map((strategy) => resultOf(run, strategy));
    const highest = Math.max(
      0.05,
      ...results.flatMap((result) => METRICS.map((metric) => result?.[metric.key] ?? 0)),
    );
    const scale = plotHeight / highest;
    const base = top + plotTop + plotHeight;
    parts.push(
      `<text x="${left + 40}" y="${top + 16}" font-weight="bold">${escapeXml(label(run))}</text>`,
      `<line x1="${left + 36}" y1="${base}" x2="${left + panelWidth - 16}" y2="${base}" stroke="#333"/>`,
      `<text x="${left + 32}" y="${top + plotTop + 4}" text-anchor="end">${highest.toFixed(2)}</text>`,
      `<text x="${left + 32}" y="${base}" text-anchor="end">0</text>`,
    );
    results.forEach((result, s) => {
      const x = left + 44 + s * groupWidth;
      METRICS.forEach((metric, m) => {
        const value = result?.[metric.key] ?? null;
        if (value === null) return;
        const h = value * scale;
        parts.push(
          `<rect x="${x + m * bar}" y="${(base - h).toFixed(1)}" width="${bar - 1}" height="${h.toFixed(1)}" fill="${metric.colour}"><title>${escapeXml(`${strategies[s]} ${metric.name} ${value.toFixed(4)}`)}</title></rect>`,
        );
      });
      const cx = x + (METRICS.length * bar) / 2;
      parts.push(
        `<text transform="translate(${cx},${base + 8}) rotate(40)" text-anchor="start">${escapeXml(strategies[s])}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
