import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { IalsParameters } from '../src/engines/collaborative/kernels/ials';
import type { RatingEncoding } from '../src/engines/collaborative/kernels/pure-svd';
import type { EpochStats } from './biased-mf';
import type { TrainedModels, TrainingMetrics, TrainOptions } from './train';

/**
 * Where trained models go. The CLI writes files; the server plugs in a store that writes a model
 * version and its factors to Postgres.
 */
export interface ModelSink {
  /** Returns where the models were stored (a path, a version id, …). */
  save(models: TrainedModels): Promise<string>;
}

type ArrayName =
  | 'biased.userBias'
  | 'biased.itemBias'
  | 'biased.userFactors'
  | 'biased.itemFactors'
  | 'biased.userIds'
  | 'biased.itemIds'
  | 'topN.itemFactors'
  | 'topN.itemIds'
  | 'topN.singularValues'
  | 'topN.easeColumns'
  | 'topN.easeWeights';

interface ArrayEntry {
  readonly type: 'Float32Array' | 'Float64Array' | 'Int32Array';
  readonly byteOffset: number;
  readonly length: number;
}

interface ModelHeader {
  readonly format: 'cinegraph-cf-models';
  readonly version: 1;
  readonly biased: {
    k: number;
    mu: number;
    ratingScale: { min: number; max: number };
    regBias: number;
    regFactor: number;
    regExponent: number;
    recencyHalfLifeDays: number;
  };
  /** kind absent: PureSVD (files written before iALS). */
  readonly topN:
    | { kind?: 'puresvd'; rank: number; encoding: RatingEncoding; popularityExponent: number }
    | ({ kind: 'ials'; rank: number } & IalsParameters)
    | { kind: 'ease'; encoding: RatingEncoding; lambda: number };
  readonly metrics: TrainingMetrics;
  readonly curve: EpochStats[];
  readonly options: TrainOptions;
  /** The EASE entries are absent from files written before EASE. */
  readonly arrays: Record<ArrayName, ArrayEntry>;
}

/** The biased model's scalar hyperparameters, as the header stores them. */
function biasedHyperparameters(biased: ModelHeader['biased']): ModelHeader['biased'] {
  return {
    k: biased.k,
    mu: biased.mu,
    ratingScale: biased.ratingScale,
    regBias: biased.regBias,
    regFactor: biased.regFactor,
    regExponent: biased.regExponent,
    recencyHalfLifeDays: biased.recencyHalfLifeDays,
  };
}

function topNHeader(topN: TrainedModels['topN']): ModelHeader['topN'] {
  if (topN.kind === 'puresvd')
    return {
      kind: 'puresvd',
      rank: topN.rank,
      encoding: topN.encoding,
      popularityExponent: topN.popularityExponent,
    };
  if (topN.kind === 'ease') return { kind: 'ease', encoding: topN.encoding, lambda: topN.lambda };
  return {
    kind: 'ials',
    rank: topN.rank,
    regularization: topN.regularization,
    regExponent: topN.regExponent,
    unobservedWeight: topN.unobservedWeight,
    confidenceScale: topN.confidenceScale,
    recencyHalfLifeDays: topN.recencyHalfLifeDays,
  };
}

export const MODEL_HEADER_FILE = 'models.json';
export const MODEL_ARRAYS_FILE = 'models.bin';

/** Writes models.json (shapes, hyperparameters, metrics) and models.bin (the arrays, little-endian). */
export function fileModelSink(dir: string): ModelSink {
  return {
    async save(models) {
      await fs.mkdir(dir, { recursive: true });
      const { biased, topN } = models;
      const arrays: [ArrayName, Float32Array | Float64Array | Int32Array][] = [
        ['biased.userBias', biased.userBias],
        ['biased.itemBias', biased.itemBias],
        ['biased.userFactors', biased.userFactors],
        ['biased.itemFactors', biased.itemFactors],
        ['biased.userIds', biased.userIds],
        ['biased.itemIds', biased.itemIds],
        ['topN.itemFactors', topN.kind === 'ease' ? new Float32Array(0) : topN.itemFactors],
        ['topN.itemIds', topN.itemIds],
        // Empty arrays for what a kind does not have keep one file layout for every kind.
        ['topN.singularValues', topN.kind === 'puresvd' ? topN.singularValues : new Float64Array(0)],
        ['topN.easeColumns', topN.kind === 'ease' ? topN.columns : new Int32Array(0)],
        ['topN.easeWeights', topN.kind === 'ease' ? topN.weights : new Float32Array(0)],
      ];
      const entries = {} as Record<ArrayName, ArrayEntry>;
      const chunks: Buffer[] = [];
      let byteOffset = 0;
      for (const [name, array] of arrays) {
        // 8-byte alignment lets a reader view Float64Arrays straight over the file's buffer.
        const padding = (8 - (byteOffset % 8)) % 8;
        if (padding > 0) chunks.push(Buffer.alloc(padding));
        byteOffset += padding;
        entries[name] = {
          type: array.constructor.name as ArrayEntry['type'],
          byteOffset,
          length: array.length,
        };
        chunks.push(Buffer.from(array.buffer, array.byteOffset, array.byteLength));
        byteOffset += array.byteLength;
      }
      const header: ModelHeader = {
        format: 'cinegraph-cf-models',
        version: 1,
        biased: biasedHyperparameters(biased),
        topN: topNHeader(topN),
        metrics: models.metrics,
        curve: models.curve,
        options: models.options,
        arrays: entries,
      };
      await fs.writeFile(path.join(dir, MODEL_ARRAYS_FILE), Buffer.concat(chunks));
      await fs.writeFile(path.join(dir, MODEL_HEADER_FILE), `${JSON.stringify(header, null, 2)}\n`);
      return dir;
    },
  };
}

/** Reads back what fileModelSink wrote. */
export async function readModelFiles(dir: string): Promise<TrainedModels> {
  const header = JSON.parse(await fs.readFile(path.join(dir, MODEL_HEADER_FILE), 'utf8')) as ModelHeader;
  if (header.format !== 'cinegraph-cf-models' || header.version !== 1) {
    throw new Error(`${dir}/${MODEL_HEADER_FILE} is not a version 1 Cinegraph model file`);
  }
  const bytes = await fs.readFile(path.join(dir, MODEL_ARRAYS_FILE));
  const view = <T extends Float32Array | Float64Array | Int32Array>(name: ArrayName): T => {
    const entry = header.arrays[name];
    const Constructor = { Float32Array, Float64Array, Int32Array }[entry.type];
    const end = entry.byteOffset + entry.length * Constructor.BYTES_PER_ELEMENT;
    if (end > bytes.length) throw new Error(`${MODEL_ARRAYS_FILE} is truncated (${name})`);
    return new Constructor(
      bytes.buffer.slice(bytes.byteOffset + entry.byteOffset, bytes.byteOffset + end),
    ) as T;
  };
  return {
    biased: {
      ...biasedHyperparameters(header.biased),
      userBias: view('biased.userBias'),
      itemBias: view('biased.itemBias'),
      userFactors: view('biased.userFactors'),
      itemFactors: view('biased.itemFactors'),
      userIds: view('biased.userIds'),
      itemIds: view('biased.itemIds'),
    },
    topN:
      header.topN.kind === 'ease'
        ? {
            kind: 'ease',
            encoding: header.topN.encoding,
            lambda: header.topN.lambda,
            columns: view('topN.easeColumns'),
            weights: view('topN.easeWeights'),
            numItems: header.arrays['topN.itemIds'].length,
            itemIds: view('topN.itemIds'),
          }
        : header.topN.kind === 'ials'
          ? {
              kind: 'ials',
              rank: header.topN.rank,
              regularization: header.topN.regularization,
              regExponent: header.topN.regExponent,
              unobservedWeight: header.topN.unobservedWeight,
              confidenceScale: header.topN.confidenceScale,
              recencyHalfLifeDays: header.topN.recencyHalfLifeDays ?? 0,
              itemFactors: view('topN.itemFactors'),
              itemIds: view('topN.itemIds'),
            }
          : {
              kind: 'puresvd',
              rank: header.topN.rank,
              encoding: header.topN.encoding,
              popularityExponent: header.topN.popularityExponent,
              itemFactors: view('topN.itemFactors'),
              itemIds: view('topN.itemIds'),
              singularValues: view('topN.singularValues'),
            },
    metrics: header.metrics,
    curve: header.curve,
    options: header.options,
  };
}
