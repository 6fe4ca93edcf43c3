/**
 * Worker-thread side of the vote pool (see vote-pool.ts): runs the same neighbourVotesOf the server
 * would run in-thread, on the same Float32 values, so the votes are equal bit for bit; and the same
 * searchVectorIndex on the in-process index's rows (shared) and copies of its projections.
 */
import { type MessagePort, parentPort } from 'node:worker_threads';
import { describeError } from './embedders/errors';
import { nearestNeighbourRows } from './neighbour-candidates';
import { type ContentScoring, neighbourVotesOf } from './neighbour-score';
import {
  searchVectorIndex,
  type VectorIndex,
  vectorIndexFromShare,
  type VectorIndexShare,
  type VectorSearchFilter,
} from './vector-index';

/** The vectors, copied: candidates packed (their buffer transferred), then the rated movies. */
export interface CopiedVoteRequest {
  kind: 'copied';
  id: number;
  /** candidateCount × dimension, row-major: one buffer, transferred. */
  candidates: Float32Array;
  candidateCount: number;
  /** count × dimension rated vectors, row-major. */
  vectors: Float32Array;
  weights: Float64Array;
  count: number;
  dimension: number;
  scoring: ContentScoring;
}

/** The vectors as positions (in float32 elements) of a shared memory this worker was given. */
export interface SharedVoteRequest {
  kind: 'shared';
  id: number;
  store: number;
  candidateOffsets: Int32Array;
  ratedOffsets: Int32Array;
  weights: Float64Array;
  dimension: number;
  scoring: ContentScoring;
}

export type VoteRequest = CopiedVoteRequest | SharedVoteRequest;

/** searchVectorIndex on the index shared as `store` (an IndexShare sent before). */
export interface SearchRequest {
  kind: 'search';
  id: number;
  store: number;
  query: Float32Array;
  limit: number;
  filter: Omit<VectorSearchFilter, 'exclude'> & { exclude?: Int32Array };
}

/** Rows `from` to `to` of the content neighbour table over the index shared as `store`. */
export interface NeighbourRowsRequest {
  kind: 'neighbour-rows';
  id: number;
  store: number;
  from: number;
  to: number;
  perMovie: number;
}

/** The search index whose rows are the shared memory `store` (sent after that VoteStore, once). */
export interface IndexShare {
  kind: 'index';
  store: number;
  index: VectorIndexShare;
}

/** A shared memory later requests name by `store`; sent once per worker, before the first such request. */
export interface VoteStore {
  kind: 'store';
  store: number;
  buffer: SharedArrayBuffer;
}

/** The main thread no longer names `store`: the worker drops its reference. */
export interface VoteStoreRelease {
  kind: 'release';
  store: number;
}

export type VoteMessage =
  VoteRequest | SearchRequest | NeighbourRowsRequest | VoteStore | IndexShare | VoteStoreRelease;

export type VoteReply =
  | { type: 'voted'; id: number; votes: Float64Array }
  | { type: 'found'; id: number; movieIds: Int32Array; similarities: Float64Array }
  | { type: 'neighbour-rows'; id: number; neighbours: Int32Array; similarities: Float32Array }
  /** The index could not be attached here (its memory): search it in the main thread. */
  | { type: 'unsearchable'; id: number; store: number }
  | { type: 'vote-failed'; id: number; message: string };

const stores = new Map<number, SharedArrayBuffer>();
/** The search indexes by the store of their rows; null where this thread could not attach to them. */
const indexes = new Map<number, VectorIndex | null>();

function rows(buffer: ArrayBufferLike, offsets: Int32Array, dimension: number): Float32Array[] {
  return Array.from(offsets, (offset) => new Float32Array(buffer, offset * 4, dimension));
}

function vectorsOf(request: VoteRequest): { candidates: Float32Array[]; rated: Float32Array[] } {
  const { dimension } = request;
  if (request.kind === 'shared') {
    const buffer = stores.get(request.store);
    if (!buffer)
      throw new Error(`call ${request.id} names shared memory ${request.store}, which it was not given`);
    return {
      candidates: rows(buffer, request.candidateOffsets, dimension),
      rated: rows(buffer, request.ratedOffsets, dimension),
    };
  }
  const slices = (packed: Float32Array, count: number) =>
    Array.from({ length: count }, (_, i) => packed.subarray(i * dimension, (i + 1) * dimension));
  return {
    candidates: slices(request.candidates, request.candidateCount),
    rated: slices(request.vectors, request.count),
  };
}

function vote(port: MessagePort, request: VoteRequest): void {
  try {
    const { candidates, rated } = vectorsOf(request);
    const votes = neighbourVotesOf(
      candidates,
      { rows: rated, weights: request.weights, dimension: request.dimension },
      request.scoring,
    );
    const reply: VoteReply = { type: 'voted', id: request.id, votes };
    port.postMessage(reply, [votes.buffer as ArrayBuffer]);
  } catch (error) {
    const reply: VoteReply = { type: 'vote-failed', id: request.id, message: describeError(error) };
    port.postMessage(reply);
  }
}

/** The index the request names; null (after saying so) where this thread could not attach to it. */
function indexFor(port: MessagePort, request: SearchRequest | NeighbourRowsRequest): VectorIndex | null {
  const index = indexes.get(request.store);
  if (index === undefined)
    throw new Error(`call ${request.id} names search index ${request.store}, which it was not given`);
  if (index === null) {
    const reply: VoteReply = { type: 'unsearchable', id: request.id, store: request.store };
    port.postMessage(reply);
  }
  return index;
}

function neighbourRows(port: MessagePort, request: NeighbourRowsRequest): void {
  try {
    const index = indexFor(port, request);
    if (!index) return;
    const { neighbours, similarities } = nearestNeighbourRows(
      index,
      request.from,
      request.to,
      request.perMovie,
    );
    const reply: VoteReply = { type: 'neighbour-rows', id: request.id, neighbours, similarities };
    port.postMessage(reply, [neighbours.buffer as ArrayBuffer, similarities.buffer as ArrayBuffer]);
  } catch (error) {
    const reply: VoteReply = { type: 'vote-failed', id: request.id, message: describeError(error) };
    port.postMessage(reply);
  }
}

function search(port: MessagePort, request: SearchRequest): void {
  try {
    const index = indexFor(port, request);
    if (!index) return;
    const { exclude, ...filter } = request.filter;
    const hits = searchVectorIndex(index, request.query, request.limit, {
      ...filter,
      exclude: exclude && new Set(exclude),
    });
    const movieIds = Int32Array.from(hits, (hit) => hit.movieId);
    const similarities = Float64Array.from(hits, (hit) => hit.similarity);
    const reply: VoteReply = { type: 'found', id: request.id, movieIds, similarities };
    port.postMessage(reply, [movieIds.buffer as ArrayBuffer, similarities.buffer as ArrayBuffer]);
  } catch (error) {
    const reply: VoteReply = { type: 'vote-failed', id: request.id, message: describeError(error) };
    port.postMessage(reply);
  }
}

if (!parentPort) throw new Error('vote-worker runs inside a worker thread started by vote-pool.ts');
const port = parentPort;
port.on('message', (message: VoteMessage) => {
  switch (message.kind) {
    case 'store':
      stores.set(message.store, message.buffer);
      return;
    case 'index':
      indexes.set(message.store, vectorIndexFromShare(message.index));
      return;
    case 'release':
      stores.delete(message.store);
      indexes.delete(message.store);
      return;
    case 'search':
      search(port, message);
      return;
    case 'neighbour-rows':
      neighbourRows(port, message);
      return;
    default:
      vote(port, message);
  }
});
