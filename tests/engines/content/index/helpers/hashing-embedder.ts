import type { Embedder, EmbedOptions } from '../../../../../src/engines/content/embedders/embedder';

/** FNV-1a: a stable 32-bit hash, so a word always lands in the same dimension. */
function fnv1a(word: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    hash ^= word.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/**
 * A deterministic bag-of-words embedder for tests: each word adds 1 to the dimension its hash picks, and
 * the counts are L2-normalised. Texts sharing words are similar, exactly and reproducibly, with no model.
 * It records every call and can be held mid-run to observe progress.
 */
export class HashingEmbedder implements Embedder {
  readonly provider = 'transformers' as const;
  readonly calls: string[][] = [];
  /** Per call, whether it was background work. */
  readonly background: boolean[] = [];
  private gate: Promise<void> | null = null;
  private failOnCall: number | null = null;

  constructor(
    readonly dimension = 384,
    readonly modelId = 'test/hashing-bag-of-words',
  ) {}

  vectorOf(text: string): Float32Array {
    const vector = new Float32Array(this.dimension);
    for (const word of words(text)) vector[fnv1a(word) % this.dimension] += 1;
    const norm = Math.hypot(...vector);
    if (norm === 0) throw new RangeError(`"${text}" has no words to embed`);
    return vector.map((value) => value / norm);
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    this.calls.push([...texts]);
    this.background.push(options.background ?? false);
    if (this.failOnCall === this.calls.length)
      throw new Error(`embedder failure on call ${this.calls.length}`);
    if (this.gate) await this.gate;
    return texts.map((text) => this.vectorOf(text));
  }

  /** Texts embedded so far, over all calls. */
  get embeddedTexts(): string[] {
    return this.calls.flat();
  }

  /** Makes the n-th call to embed() (counting from 1, over the embedder's life) throw. */
  failOn(call: number): void {
    this.failOnCall = call;
  }

  /** Holds every embed() call until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => {
      release = resolve;
    });
    return () => {
      this.gate = null;
      release();
    };
  }
}

/**
 * Waits until `condition` holds, polling between database round trips. The cap only keeps a broken test
 * from hanging; nothing asserts on how long it took.
 */
export async function until(condition: () => boolean, what: string, maxPolls = 20_000): Promise<void> {
  for (let poll = 0; poll < maxPolls; poll++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`gave up waiting for ${what}`);
}
