import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import { trainBiasedMf, type BiasedMfHooks, type BiasedMfOptions, type BiasedMfResult } from './biased-mf';
import { countPerIndex, meanRating, type RatingsDataset } from './dataset';

/** What the catalog knows about a movie before anyone rated it. */
export interface ItemMetadata {
  readonly genres: readonly string[];
  readonly year: number | null;
}

/** Metadata by movieId; movies it lacks simply get no prior. */
export type ItemMetadataById = ReadonlyMap<number, ItemMetadata>;

export interface ItemPriorOptions {
  /** Ridge λ of each attribute effect, in ratings (an attribute seen on n ratings is shrunk by n/(n+λ)). */
  readonly regAttribute: number;
  /** Ridge λ of the user biases fitted alongside the attribute effects. */
  readonly regUser: number;
  /** Coordinate-descent sweeps over users and attributes. */
  readonly iterations: number;
  /**
   * λ of the cold-item factors: q = Σ q_j / (n + λ) over the n trained items with the same genres, so a
   * signature seen on few items yields a short vector (a weak personal term).
   */
  readonly factorShrinkage: number;
}

/** Genres and decade, e.g. ["genre:Comedy", "genre:Drama", "decade:1990"]; empty without metadata. */
export function itemAttributes(metadata: ItemMetadata | undefined): string[] {
  if (!metadata) return [];
  const genres = metadata.genres.length > 0 ? metadata.genres.map((g) => `genre:${g}`) : ['genre:(none)'];
  const decade = metadata.year === null ? 'decade:unknown' : `decade:${Math.floor(metadata.year / 10) * 10}`;
  return [...genres, decade];
}

/** The sorted genre set ("Comedy|Drama"); null without metadata. */
export function genreSignature(metadata: ItemMetadata | undefined): string | null {
  return metadata ? [...metadata.genres].sort().join('|') : null;
}

/**
 * Per-item prior rating offsets Σ_a w_a over the item's attributes, from the ridge model
 * r ≈ μ + b_u + Σ_{a ∈ A(i)} w_a fitted by coordinate descent. Items without training ratings get
 * their attributes' effects too, which is the point: it is their only information.
 */
export function fitItemPrior(
  train: RatingsDataset,
  attributesByItem: readonly (readonly string[])[],
  options: Pick<ItemPriorOptions, 'regAttribute' | 'regUser' | 'iterations'>,
): Float64Array {
  if (attributesByItem.length !== train.numItems)
    throw new Error(`expected attributes for ${train.numItems} items, got ${attributesByItem.length}`);
  // Attribute ids in order of first appearance over the item indices, so the sweep order is reproducible.
  const attributeIds = new Map<string, number>();
  const itemsOf: number[][] = [];
  attributesByItem.forEach((attributes, item) => {
    for (const name of new Set(attributes)) {
      let id = attributeIds.get(name);
      if (id === undefined) {
        id = attributeIds.size;
        attributeIds.set(name, id);
        itemsOf.push([]);
      }
      itemsOf[id].push(item);
    }
  });
  const mu = meanRating(train);
  const effects = new Float64Array(itemsOf.length);
  const prior = new Float64Array(train.numItems);
  const userBias = new Float64Array(train.numUsers);
  const userCounts = countPerIndex(train.users, train.numUsers);
  const itemCounts = countPerIndex(train.items, train.numItems);
  const userSums = new Float64Array(train.numUsers);
  const itemSums = new Float64Array(train.numItems);
  for (let iteration = 0; iteration < options.iterations; iteration++) {
    userSums.fill(0);
    for (let n = 0; n < train.size; n++)
      userSums[train.users[n]] += train.ratings[n] - mu - prior[train.items[n]];
    for (let user = 0; user < train.numUsers; user++)
      userBias[user] = userSums[user] / (userCounts[user] + options.regUser);
    itemSums.fill(0);
    for (let n = 0; n < train.size; n++)
      itemSums[train.items[n]] += train.ratings[n] - mu - userBias[train.users[n]];
    for (let attribute = 0; attribute < itemsOf.length; attribute++) {
      const previous = effects[attribute];
      let residual = 0;
      let count = 0;
      for (const item of itemsOf[attribute]) {
        // The item's residual with every effect but this attribute's.
        residual += itemSums[item] - itemCounts[item] * (prior[item] - previous);
        count += itemCounts[item];
      }
      const effect = residual / (count + options.regAttribute);
      for (const item of itemsOf[attribute]) prior[item] += effect - previous;
      effects[attribute] = effect;
    }
  }
  return prior;
}

/**
 * Items without training ratings get the shrunk mean factor vector of the trained items with the same
 * genre signature (their biases are left alone: with an item prior they already hold it).
 */
export function imputeUntrainedItemFactors(
  model: BiasedMfParameters,
  itemCounts: Int32Array,
  signatures: readonly (string | null)[],
  shrinkage: number,
): void {
  const k = model.k;
  const groups = new Map<string, { count: number; sum: Float64Array }>();
  signatures.forEach((signature, item) => {
    if (signature === null || itemCounts[item] === 0) return;
    let group = groups.get(signature);
    if (!group) groups.set(signature, (group = { count: 0, sum: new Float64Array(k) }));
    group.count++;
    for (let f = 0; f < k; f++) group.sum[f] += model.itemFactors[item * k + f];
  });
  signatures.forEach((signature, item) => {
    const group = signature === null ? undefined : groups.get(signature);
    if (itemCounts[item] > 0 || !group) return;
    for (let f = 0; f < k; f++) model.itemFactors[item * k + f] = group.sum[f] / (group.count + shrinkage);
  });
}

/**
 * Biased MF whose item biases are learned around a genre/decade prior (so rarely rated items shrink
 * towards their kind of movie rather than towards the global mean) and whose untrained items take
 * that prior and the mean factors of their genre signature. Without metadata it is trainBiasedMf.
 */
export async function trainBiasedMfWithItemPrior(
  dataset: RatingsDataset,
  options: BiasedMfOptions,
  priorOptions: ItemPriorOptions,
  metadata: ItemMetadataById | null,
  hooks: BiasedMfHooks = {},
): Promise<BiasedMfResult> {
  if (!metadata || metadata.size === 0) return trainBiasedMf(dataset, options, hooks);
  const byItem = Array.from(dataset.itemIds, (id) => metadata.get(id));
  const prior = fitItemPrior(dataset, byItem.map(itemAttributes), priorOptions);
  const result = await trainBiasedMf(dataset, options, { ...hooks, itemOffsets: prior });
  // Counted on the whole dataset: an item rated only in a validation holdout keeps zero factors.
  imputeUntrainedItemFactors(
    result.model,
    countPerIndex(dataset.items, dataset.numItems),
    byItem.map(genreSignature),
    priorOptions.factorShrinkage,
  );
  return result;
}
