/**
 * Worker-thread side of the vote pool (see vote-pool.ts): runs the same neighbourVotesOf the server
 * would run in-thread, on the same Float32 values, so the votes are equal bit for bit.
 */
import { type MessagePort, parentPort } from 'node:worker_threads';
import { describeError } from './embedders/errors';
import { type ContentScoring, neighbourVotesOf } from './neighbour-score';

export interface VoteRequest {
  id: number;
  /** candidateCount × dimension, row-major: one buffer, transferred. */
  candidates: Float32Array;
  candidateCount: number;
  /** RatedNeighbours, copied: count × dimension vectors and count weights. */
  vectors: Float32Array;
  weights: Float64Array;
  count: number;
  dimension: number;
  scoring: ContentScoring;
}

export type VoteReply =
  { type: 'voted'; id: number; votes: Float64Array } | { type: 'vote-failed'; id: number; message: string };

function vote(port: MessagePort, request: VoteRequest): void {
  try {
    const { candidates, candidateCount, dimension } = request;
    const rows = Array.from({ length: candidateCount }, (_, i) =>
      candidates.subarray(i * dimension, (i + 1) * dimension),
    );
    const votes = neighbourVotesOf(
      rows,
      { vectors: request.vectors, weights: request.weights, count: request.count, dimension },
      request.scoring,
    );
    const reply: VoteReply = { type: 'voted', id: request.id, votes };
    port.postMessage(reply, [votes.buffer as ArrayBuffer]);
  } catch (error) {
    const reply: VoteReply = { type: 'vote-failed', id: request.id, message: describeError(error) };
    port.postMessage(reply);
  }
}

if (!parentPort) throw new Error('vote-worker runs inside a worker thread started by vote-pool.ts');
const port = parentPort;
port.on('message', (request: VoteRequest) => vote(port, request));
