import { createHash } from 'node:crypto';
import { Experiment, Variant } from './definition';

/**
 * Where a user falls on [0, 1) for one experiment: SHA-256 of "<experiment name>:<user id>", its
 * first 48 bits as a fraction. Deterministic (no state to store, every process agrees), sticky (the
 * name and the user never change), and independent across experiments because the name salts the
 * hash: the users in one experiment's treatment are not the treatment of the next one. 48 bits keep
 * the fraction exact in a double. About a microsecond per call.
 */
export function bucketOf(experimentName: string, userId: number): number {
  const digest = createHash('sha256').update(`${experimentName}:${userId}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The user's variant: the variants' shares laid end to end on [0, 1) in their defined order. The
 * last variant takes whatever rounding leaves at the top, so every bucket has a variant.
 */
export function assignVariant(experiment: Pick<Experiment, 'name' | 'variants'>, userId: number): Variant {
  const bucket = bucketOf(experiment.name, userId);
  let upper = 0;
  for (const variant of experiment.variants) {
    upper += variant.share;
    if (bucket < upper) return variant;
  }
  return experiment.variants[experiment.variants.length - 1];
}
