import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EpochStats } from './biased-mf';
import type { TrainingMetrics, TrainOptions } from './train';

export interface TrainingReport {
  readonly createdAt: string;
  readonly source: string;
  readonly options: TrainOptions;
  readonly metrics: TrainingMetrics;
  readonly curve: readonly EpochStats[];
  /** Where the models were stored, if they were. */
  readonly modelLocation: string | null;
}

export const REPORT_JSON_FILE = 'training-report.json';
export const LEARNING_CURVE_FILE = 'learning-curve.svg';

/** Writes the report as JSON and its learning curve as SVG into `dir`; returns both paths. */
export async function writeTrainingReport(
  dir: string,
  report: TrainingReport,
): Promise<{ json: string; svg: string }> {
  await fs.mkdir(dir, { recursive: true });
  const json = path.join(dir, REPORT_JSON_FILE);
  const svg = path.join(dir, LEARNING_CURVE_FILE);
  await fs.writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await fs.writeFile(svg, learningCurveSvg(report.curve, report.metrics.bestEpochs[0] ?? null));
  return { json, svg };
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { top: 48, right: 24, bottom: 56, left: 72 };
const TRAIN_COLOUR = '#1f77b4';
const VALIDATION_COLOUR = '#ff7f0e';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Round tick positions (1, 2 or 5 × 10^n apart) covering [min, max]. */
export function niceTicks(min: number, max: number, target = 6): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step) * step; tick <= max + step * 1e-9; tick += step) {
    ticks.push(Number(tick.toFixed(12)));
  }
  return ticks;
}

/**
 * A hand-written line chart of train and validation RMSE per epoch (no charting dependency); with
 * several SGD restarts, each gets its own pair of lines. The dashed marker is the kept epoch of the
 * first restart.
 */
export function learningCurveSvg(curve: readonly EpochStats[], bestEpoch: number | null): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = curve.flatMap((s) =>
    s.validationRmse === null ? [s.trainRmse] : [s.trainRmse, s.validationRmse],
  );
  const lastEpoch = Math.max(1, ...curve.map((s) => s.epoch));
  const low = values.length > 0 ? Math.min(...values) : 0;
  const high = values.length > 0 ? Math.max(...values) : 1;
  const pad = (high - low) * 0.05 || 0.05;
  const yMin = low - pad;
  const yMax = high + pad;
  const x = (epoch: number) =>
    MARGIN.left + (lastEpoch === 1 ? plotWidth / 2 : ((epoch - 1) / (lastEpoch - 1)) * plotWidth);
  const y = (value: number) => MARGIN.top + (1 - (value - yMin) / (yMax - yMin)) * plotHeight;
  const fmt = (n: number) => n.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">Biased MF learning curve (RMSE per epoch)</text>`,
  ];
  for (const tick of niceTicks(yMin, yMax)) {
    const ty = fmt(y(tick));
    parts.push(
      `<line x1="${MARGIN.left}" y1="${ty}" x2="${WIDTH - MARGIN.right}" y2="${ty}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 8}" y="${ty}" text-anchor="end" dominant-baseline="middle">${tick.toFixed(3)}</text>`,
    );
  }
  for (const tick of niceTicks(1, lastEpoch, 10).filter((t) => Number.isInteger(t))) {
    const tx = fmt(x(tick));
    parts.push(
      `<line x1="${tx}" y1="${HEIGHT - MARGIN.bottom}" x2="${tx}" y2="${HEIGHT - MARGIN.bottom + 5}" stroke="#333"/>`,
      `<text x="${tx}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${tick}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 16}" text-anchor="middle">epoch</text>`,
    `<text x="18" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 18 ${MARGIN.top + plotHeight / 2})">RMSE</text>`,
  );
  if (bestEpoch !== null && bestEpoch >= 1 && curve.some((s) => s.validationRmse !== null)) {
    const bx = fmt(x(bestEpoch));
    // Keep the label inside the canvas when the kept epoch is near either end of the axis.
    const fraction = (x(bestEpoch) - MARGIN.left) / plotWidth;
    const anchor = fraction > 0.85 ? 'end' : fraction < 0.15 ? 'start' : 'middle';
    parts.push(
      `<line x1="${bx}" y1="${MARGIN.top}" x2="${bx}" y2="${HEIGHT - MARGIN.bottom}" stroke="#888" stroke-dasharray="4 4"/>`,
      `<text x="${bx}" y="${MARGIN.top - 6}" text-anchor="${anchor}" fill="#555">${escapeXml(`best epoch ${bestEpoch}`)}</text>`,
    );
  }
  const series = (pick: (s: EpochStats) => number | null, colour: string, restart: number) => {
    const points = curve
      .filter((s) => s.restart === restart && pick(s) !== null)
      .map((s) => `${fmt(x(s.epoch))},${fmt(y(pick(s) as number))}`);
    if (points.length === 0) return;
    const opacity = restart === 0 ? 1 : 0.45;
    parts.push(
      `<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2" stroke-opacity="${opacity}"/>`,
    );
    if (points.length === 1) {
      const [px, py] = points[0].split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${colour}"/>`);
    }
  };
  for (const restart of [...new Set(curve.map((s) => s.restart))].sort((a, b) => a - b)) {
    series((s) => s.trainRmse, TRAIN_COLOUR, restart);
    series((s) => s.validationRmse, VALIDATION_COLOUR, restart);
  }
  const legendX = WIDTH - MARGIN.right - 150;
  const legend: [string, string][] = [['train RMSE', TRAIN_COLOUR]];
  if (curve.some((s) => s.validationRmse !== null)) legend.push(['validation RMSE', VALIDATION_COLOUR]);
  legend.forEach(([label, colour], row) => {
    const ly = MARGIN.top + 16 + row * 18;
    parts.push(
      `<line x1="${legendX}" y1="${ly}" x2="${legendX + 24}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${legendX + 30}" y="${ly}" dominant-baseline="middle">${label}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
