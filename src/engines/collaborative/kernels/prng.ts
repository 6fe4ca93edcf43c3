/**
 * Seeded pseudo-random numbers for training. Math.random cannot be seeded, and a model must be
 * reproducible byte for byte from (seed, thread count), so every random draw goes through here.
 */

/** Mixes several integers into one 32-bit seed, so independent streams (epoch, block, …) never collide. */
export function deriveSeed(seed: number, ...streams: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const stream of [...streams, streams.length]) {
    h = Math.imul(h ^ (stream >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: tiny, fast and good enough for shuffling and initialisation (not for cryptography). */
export class Mulberry32 {
  private state: number;
  private spareGaussian = NaN;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }

  /** Standard normal (Box–Muller, the second value of each pair is kept for the next call). */
  nextGaussian(): number {
    if (!Number.isNaN(this.spareGaussian)) {
      const spare = this.spareGaussian;
      this.spareGaussian = NaN;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareGaussian = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }
}

/** Fisher–Yates shuffle of values[start, end). */
export function shuffleInPlace(values: Int32Array, rng: Mulberry32, start = 0, end = values.length): void {
  for (let i = end - 1; i > start; i--) {
    const j = start + rng.nextInt(i - start + 1);
    const held = values[i];
    values[i] = values[j];
    values[j] = held;
  }
}

/** Fills values with independent normal draws of the given standard deviation. */
export function fillGaussian(values: Float32Array | Float64Array, rng: Mulberry32, stdDev: number): void {
  for (let i = 0; i < values.length; i++) values[i] = rng.nextGaussian() * stdDev;
}
