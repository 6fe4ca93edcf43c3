/**
 * Worker-thread side of the use-lite pool (see pool.ts): loads the model once, then embeds one chunk of
 * texts per request with the same in-process provider the pool stands in for, so vectors match it.
 */
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
}

export type PoolWorkerReply =
  | { type: 'ready'; modelId: string; dimension: number }
  | { type: 'load-failed'; message: string }
  | { type: 'embedded'; chunkId: number; vectors: Float32Array[] }
  | { type: 'embed-failed'; chunkId: number; message: string };

function reply(port: MessagePort, message: PoolWorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function embedChunk(port: MessagePort, embedder: Embedder, request: EmbedChunkRequest) {
  try {
    const vectors = await embedder.embed(request.texts);
    // Transferred rather than copied: each vector owns its buffer, and the pool only reads it.
    const buffers = vectors.map((vector) => vector.buffer as ArrayBuffer);
    reply(port, { type: 'embedded', chunkId: request.chunkId, vectors }, buffers);
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
