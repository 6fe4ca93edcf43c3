import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import {
  createEmbedder,
  createUseLiteEmbedder,
  createUseLitePool,
  type Embedder,
} from '../../../src/engines/content/embedders';
import { BACKGROUND_NICE, planChunks } from '../../../src/engines/content/embedders/pool';

const OVERVIEW =
  'Led by Woody, Andy’s toys live happily in his room until Andy’s birthday brings Buzz Lightyear onto the ' +
  'scene. Afraid of losing his place in Andy’s heart, Woody plots against Buzz. But when circumstances ' +
  'separate Buzz and Woody from their owner, the duo eventually learns to put aside their differences and ' +
  'find their way home before the moving truck leaves for the new house across town.';

// Catalog-shaped: mostly short title/genre texts, some with a long overview, and repeats.
const TEXTS = [
  'Toy Story (1995). Genres: Adventure, Animation, Children, Comedy, Fantasy.',
  `Toy Story (1995). Genres: Adventure, Animation. ${OVERVIEW}`,
  'Heat (1995). Genres: Action, Crime, Thriller.',
  'Alien',
  `Heat (1995). A group of professional bank robbers feel the heat from police. ${OVERVIEW.slice(0, 200)}`,
  'Sabrina (1995). Genres: Comedy, Romance.',
  'Toy Story (1995). Genres: Adventure, Animation, Children, Comedy, Fantasy.',
  'GoldenEye (1995). Genres: Action, Adventure, Thriller. Tags: james bond, spy.',
  `Jumanji (1995). Genres: Adventure, Children, Fantasy. ${OVERVIEW} ${OVERVIEW}`,
  'Casino (1995). Genres: Crime, Drama.',
  'Balto (1995). Genres: Adventure, Animation, Children.',
  'Nixon (1995). Genres: Drama.',
];

/** Nice values of this process's threads (Linux keeps one per thread: /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => niceIn(`/proc/self/task/${tid}/stat`));
}

/** Field 19 of stat(5): the 17th after the parenthesised command name. */
function niceIn(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

const onLinux = process.platform === 'linux' ? it : it.skip;

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a).toHaveLength(b.length);
  return a.reduce((max, value, index) => Math.max(max, Math.abs(value - b[index])), 0);
}

describe('planChunks', () => {
  const lengths = (texts: string[], indices: number[]) => indices.map((index) => texts[index].length);

  it('covers every text exactly once, longest texts first', () => {
    const texts = Array.from({ length: 64 }, (_, i) => `${i} `.repeat(i % 3 === 2 ? 120 : 8));
    const chunks = planChunks(texts, 2);
    const order = chunks.flat();
    expect([...order].sort((a, b) => a - b)).toEqual(texts.map((_, index) => index));
    const orderedLengths = lengths(texts, order);
    expect(orderedLengths).toEqual([...orderedLengths].sort((a, b) => b - a));
  });

  it('cuts a large call into several chunks per worker so workers finish together', () => {
    const texts = Array.from({ length: 1000 }, (_, i) => `Movie ${i} (1999). Genres: Drama, Comedy.`);
    for (const workers of [1, 2, 4])
      expect(planChunks(texts, workers).length).toBeGreaterThanOrEqual(4 * workers);
  });

  it('keeps a text longer than a whole chunk budget in a chunk of its own', () => {
    const texts = ['short one', 'x'.repeat(50_000), 'short two'];
    expect(planChunks(texts, 2)[0]).toEqual([1]);
  });
});

describe('use-lite worker pool', () => {
  let pool: Embedder;
  let inProcess: Embedder;

  beforeAll(async () => {
    // A small batch size makes workers split their chunks into several model calls, as big chunks do.
    [pool, inProcess] = await Promise.all([
      createUseLitePool({ workers: 2, maxBatchSize: 2 }),
      createUseLiteEmbedder(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([pool?.dispose?.(), inProcess?.dispose?.()]);
  });

  it('reports the in-process provider’s identity, so stored vectors stay comparable', () => {
    expect(pool.provider).toBe(inProcess.provider);
    expect(pool.modelId).toBe(inProcess.modelId);
    expect(pool.dimension).toBe(512);
  });

  it('returns the in-process provider’s vectors, in input order', async () => {
    const [pooled, reference] = await Promise.all([pool.embed(TEXTS), inProcess.embed(TEXTS)]);
    expect(pooled).toHaveLength(TEXTS.length);
    pooled.forEach((vector, index) => {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(maxAbsDifference(vector, reference[index])).toBeLessThan(1e-6);
    });
    expect(maxAbsDifference(pooled[0], pooled[6])).toBeLessThan(1e-6);
    expect(maxAbsDifference(pooled[0], pooled[2])).toBeGreaterThan(0.01);
  });

  it('keeps concurrent calls apart', async () => {
    const [first, second, reference] = await Promise.all([
      pool.embed(TEXTS.slice(0, 6)),
      pool.embed(TEXTS.slice(6)),
      inProcess.embed(TEXTS),
    ]);
    [...first, ...second].forEach((vector, index) =>
      expect(maxAbsDifference(vector, reference[index])).toBeLessThan(1e-6),
    );
  });

  it('handles an empty batch and rejects blank texts before dispatching them', async () => {
    await expect(pool.embed([])).resolves.toEqual([]);
    await expect(pool.embed(['Alien', ' '])).rejects.toThrow('input #1 is blank');
  });

  onLinux(
    'embeds background work on threads of lower priority, and returns them for other work',
    async () => {
      const normal = niceIn('/proc/self/stat');
      const lowered = Math.min(19, normal + BACKGROUND_NICE);
      const niced = () => threadNiceValues().filter((nice) => nice === lowered).length;
      expect(niced()).toBe(0);
      const [background, expected] = await Promise.all([
        pool.embed(TEXTS, { background: true }),
        inProcess.embed(TEXTS),
      ]);
      background.forEach((vector, i) => expect(maxAbsDifference(vector, expected[i])).toBeLessThan(1e-6));
      // Both workers were idle, so each took a chunk and stays at the lower priority until its next one.
      expect(niced()).toBe(2);
      await pool.embed(TEXTS);
      expect(niced()).toBe(0);
    },
  );
});

interface ChunkMessage {
  type: string;
  texts: string[];
  niceIncrement: number;
}

/** Real workers, wrapped so a test can see them and fault the next chunk one of them is sent. */
class ObservedWorkers {
  readonly workers: Worker[] = [];
  readonly exits: Promise<unknown>[] = [];
  /** Per worker, its first message: 'ready' or the reason it could not load. */
  readonly firstReports: Promise<unknown>[] = [];
  readonly chunksSent = new Map<Worker, number>();
  private nextFault: ((worker: Worker, message: ChunkMessage) => void) | null = null;

  spawn = (file: string, options: WorkerOptions): Worker => {
    const worker = new Worker(file, options);
    this.workers.push(worker);
    this.exits.push(once(worker, 'exit'));
    this.firstReports.push(once(worker, 'message'));
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (message: ChunkMessage) => {
      this.chunksSent.set(worker, (this.chunksSent.get(worker) ?? 0) + 1);
      const fault = this.nextFault;
      this.nextFault = null;
      fault?.(worker, message);
      post(message);
    };
    return worker;
  };

  faultNextChunk(fault: (worker: Worker, message: ChunkMessage) => void): void {
    this.nextFault = fault;
  }
}

describe('use-lite worker pool failures', () => {
  let observed: ObservedWorkers;
  let pool: Embedder;
  const notices: string[] = [];

  beforeAll(async () => {
    observed = new ObservedWorkers();
    pool = await createUseLitePool({
      workers: 2,
      logger: (line) => notices.push(line),
      spawnWorker: observed.spawn,
    });
  });

  afterAll(async () => {
    await pool?.dispose?.();
  });

  it('fails the call a crashed worker was serving, then replaces the worker', async () => {
    observed.faultNextChunk((worker) => void worker.terminate());
    await expect(pool.embed(TEXTS)).rejects.toThrow(
      /use-lite pool worker \d crashed \(exit code 1\) while embedding a chunk of \d+ texts/,
    );
    expect(notices).toEqual([expect.stringMatching(/worker \d crashed .*; starting a replacement$/)]);
    expect(observed.workers).toHaveLength(3);
    await observed.firstReports[observed.firstReports.length - 1];

    const vectors = await pool.embed(TEXTS);
    expect(vectors).toHaveLength(TEXTS.length);
    expect(observed.chunksSent.get(observed.workers[2])).toBeGreaterThan(0);
  });

  it('fails the call whose chunk a worker could not embed, then replaces the worker', async () => {
    observed.faultNextChunk((_, message) => (message.texts[0] = ''));
    await expect(pool.embed(TEXTS)).rejects.toThrow(/use-lite pool worker \d threw: .*input #0 is blank/);
    expect(notices[1]).toMatch(/threw: .*; starting a replacement$/);
    expect(observed.workers).toHaveLength(4);
    await observed.firstReports[observed.firstReports.length - 1];
    await expect(pool.embed(['Alien', 'Heat'])).resolves.toHaveLength(2);
  });

  it('delivers the chunk of a worker that cannot return to normal priority, then replaces the worker', async () => {
    // No nice value is below -20: the worker's setPriority is refused, as lowering it is for an
    // unprivileged process.
    observed.faultNextChunk((_, message) => (message.niceIncrement = -100));
    await expect(pool.embed(TEXTS)).resolves.toHaveLength(TEXTS.length);
    expect(notices[2]).toMatch(
      /could not return to normal priority after background work; starting a replacement$/,
    );
    expect(observed.workers).toHaveLength(5);
    await observed.firstReports[observed.firstReports.length - 1];
    await expect(pool.embed(['Alien', 'Heat'])).resolves.toHaveLength(2);
  });

  it('dispose() fails calls in flight and terminates every worker; later calls are refused', async () => {
    const inFlight = expect(pool.embed(TEXTS)).rejects.toThrow('disposed');
    await pool.dispose?.();
    await inFlight;
    await Promise.all(observed.exits);
    await expect(pool.embed(['Alien'])).rejects.toThrow('disposed');
  });
});

describe('use-lite worker pool startup', () => {
  it('loads every worker when the wasm backend initialises slower than the weights are read', async () => {
    // Several workers at once on a busy main thread, each with WebAssembly compilation slowed as under
    // load: a worker that builds weight tensors before the backend is ready fails with "Backend 'wasm'
    // has not yet been initialized".
    const observed = new ObservedWorkers();
    const slowWasm = require.resolve('./slow-wasm-preload.js');
    const spawnSlowWasm = (file: string, options: WorkerOptions) =>
      observed.spawn(file, { ...options, execArgv: [...(options.execArgv ?? []), '-r', slowWasm] });
    const starting = createUseLitePool({ workers: 3, spawnWorker: spawnSlowWasm });
    const busyUntil = Date.now() + 1_000;
    while (Date.now() < busyUntil); // the main thread hogs a core while the workers start
    const pool = await starting;
    try {
      expect(observed.workers).toHaveLength(3);
      await expect(pool.embed(TEXTS)).resolves.toHaveLength(TEXTS.length);
    } finally {
      await pool.dispose?.();
    }
  });

  it('rejects with the load error and leaves no worker running when the model cannot load', async () => {
    const observed = new ObservedWorkers();
    const spawnWithInvalidBatchSize = (file: string, options: WorkerOptions) =>
      observed.spawn(file, { ...options, workerData: { maxBatchSize: 0 } });
    await expect(createUseLitePool({ workers: 2, spawnWorker: spawnWithInvalidBatchSize })).rejects.toThrow(
      /use-lite pool worker \d could not load the model: maxBatchSize must be a positive integer/,
    );
    expect(observed.workers).toHaveLength(2);
    await Promise.all(observed.exits);
  });

  it('is what createEmbedder returns for use-lite with workers, and validates the count', async () => {
    const options = { mode: 'use-lite', transformersModel: 'unused', allowRemoteModels: false } as const;
    await expect(createEmbedder({ ...options, workers: 0 })).rejects.toThrow(
      'workers must be a positive integer',
    );
  });

  it('does not keep the process alive when its owner never disposes it', async () => {
    const poolModule = path.resolve(__dirname, '../../../src/engines/content/embedders/pool.ts');
    const script = `
      const { createUseLitePool } = require(${JSON.stringify(poolModule)});
      createUseLitePool({ workers: 1 })
        .then((pool) => pool.embed(['Toy Story (1995). Genres: Animation.']))
        .then(([vector]) => console.log('embedded', vector.length));`;
    // If an idle worker held the process open, this would never resolve and the test would time out.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', require.resolve('@swc-node/register'), '-e', script],
      { cwd: path.resolve(__dirname, '../../..') },
    );
    expect(stdout.trim()).toBe('embedded 512');
  });
});
