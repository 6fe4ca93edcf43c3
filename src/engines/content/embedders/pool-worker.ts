/**
 * Worker-thread side of the use-lite pool (see pool.ts): loads the model once, then embeds one chunk of
 * texts per request with the same in-process provider the pool stands in for, so vectors match it.
 */
import { getPriority, setPriority } from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Embedder } from './embedder';
import { describeError } from './errors';
import { createUseLiteEmbedder } from './use-lite';

export interface PoolWorkerData {
  maxBatchSize?: number;
}

export interface EmbedChunkRequest {
  type: 'embed';
  chunkId: number;
  texts: string[];
  /** Added to the thread's starting nice value while it embeds this chunk: 0, or BACKGROUND_NICE. */
  niceIncrement: number;
}

export type PoolWorkerReply =
  | { type: 'ready'; modelId: string; dimension: number }
  | { type: 'load-failed'; message: string }
  | {
      type: 'embedded';
      chunkId: number;
      vectors: Float32Array[];
      /**
       * The thread was asked to return to a lower nice value than it has and was not allowed (an
       * unprivileged process may raise its nice value, not lower it): the pool replaces it.
       */
      priorityStuck?: boolean;
    }
  | { type: 'embed-failed'; chunkId: number; message: string };

function reply(port: MessagePort, message: PoolWorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/**
 * Sets this thread's nice value: on Linux setpriority(2) with pid 0 applies to the calling thread
 * only (nice is per thread under NPTL), so the event loop and the other threads keep theirs.
 * Returns false when the change was refused.
 */
function applyNice(nice: number): boolean {
  if (getPriority() === nice) return true;
  try {
    setPriority(nice);
    return true;
  } catch {
    return false;
  }
}

/** The nice value the thread started with (its spawner's): what a chunk's increment is added to. */
const startingNice = getPriority();

async function embedChunk(port: MessagePort, embedder: Embedder, request: EmbedChunkRequest) {
  try {
    const nice = Math.min(19, startingNice + request.niceIncrement);
    const priorityStuck = !applyNice(nice) && nice < getPriority();
    const vectors = await embedder.embed(request.texts);
    // Transferred rather than copied: each vector owns its buffer, and the pool only reads it.
    const buffers = vectors.map((vector) => vector.buffer as ArrayBuffer);
    reply(port, { type: 'embedded', chunkId: request.chunkId, vectors, priorityStuck }, buffers);
  } catch (error) {
    reply(port, { type: 'embed-failed', chunkId: request.chunkId, message: describeError(error) });
  }
}

async function serve(port: MessagePort): Promise<void> {
  const { maxBatchSize } = workerData as PoolWorkerData;
  let embedder: Embedder;
  try {
    embedder = await createUseLiteEmbedder({ maxBatchSize });
  } catch (error) {
    // Nothing else holds the thread open, so it ends once this is sent.
    reply(port, { type: 'load-failed', message: describeError(error) });
    return;
  }
  // The pool sends a worker its next chunk only after the previous reply, but chaining keeps the model
  // single-use even if that ever changes.
  let previous = Promise.resolve();
  port.on('message', (request: EmbedChunkRequest) => {
    previous = previous.then(() => embedChunk(port, embedder, request));
  });
  reply(port, { type: 'ready', modelId: embedder.modelId, dimension: embedder.dimension });
}

if (!parentPort) throw new Error('pool-worker runs inside a worker thread started by pool.ts');
void serve(parentPort);
