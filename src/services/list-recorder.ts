import { DataSource } from 'typeorm';
import type { ServedList, ServedListSink } from '../orchestrator/orchestrator';
import { within } from '../within';

export interface ListRecorderOptions {
  /** A list waits at most this long in memory before it is written (LIST_FLUSH_INTERVAL_MS). */
  flushIntervalMs: number;
  /** Lists per INSERT; a full batch is written at once (LIST_FLUSH_BATCH). */
  batchSize: number;
  /**
   * Lists held at most while the database does not take them (LIST_BUFFER_MAX); past it new lists
   * are dropped and counted, so an outage costs attribution, never the server's memory.
   */
  maxBuffered: number;
  /** Told once per outage (the first failed write after a good one) and when writes resume. */
  warn?: (message: string) => void;
}

export interface ListRecorderCounts {
  /** Lists written to recommendation_lists. */
  recorded: number;
  /** Lists given up: the buffer was full, or they arrived after stop(). */
  dropped: number;
}

/**
 * Records served lists (recommendation_lists) off the request path: record() only appends to a
 * bounded buffer; batches are written by one multi-row INSERT each, every flushIntervalMs or
 * batchSize lists, one write at a time. A failed write keeps its lists for the next attempt.
 */
export class ListRecorder implements ServedListSink {
  readonly counts: ListRecorderCounts = { recorded: 0, dropped: 0 };
  private buffer: ServedList[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly db: DataSource,
    private readonly options: ListRecorderOptions,
  ) {}

  /** Lists waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  record(list: ServedList): void {
    if (this.stopped || this.buffer.length >= this.options.maxBuffered) {
      this.counts.dropped++;
      return;
    }
    this.buffer.push(list);
    if (this.buffer.length >= this.options.batchSize) this.startWriting();
    else this.schedule();
  }

  /** Writes everything buffered now (tests, shutdown); rejects when a write fails. */
  async flush(): Promise<void> {
    this.clearTimer();
    while (this.writing) await this.writing;
    while (this.buffer.length > 0) await this.writeBatch(true);
  }

  /**
   * Writes what is buffered, once, waiting at most `waitMs` (a stalled database must not eat the
   * shutdown deadline); later lists are dropped and counted.
   */
  async stop(waitMs = 1000): Promise<void> {
    this.stopped = true;
    // A failed write while stopped drops (and counts) its lists: nothing would retry them.
    await within(
      waitMs,
      this.flush().catch(() => undefined),
    );
  }

  private schedule(): void {
    if (this.timer || this.writing || this.stopped) return;
    // Unref'd: a buffered list must not keep a finished process alive (stop() writes it).
    this.timer = setTimeout(() => {
      this.timer = null;
      this.startWriting();
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private startWriting(): void {
    if (this.writing || this.stopped) return;
    this.clearTimer();
    this.writing = this.writeBatch(false)
      .catch(() => undefined)
      .finally(() => {
        this.writing = null;
        if (this.stopped) return;
        // A full batch waiting goes at once; after a failure the next attempt waits an interval.
        if (this.buffer.length >= this.options.batchSize && !this.failing) this.startWriting();
        else if (this.buffer.length > 0) this.schedule();
      });
  }

  private async writeBatch(rethrow: boolean): Promise<void> {
    const batch = this.buffer.splice(0, this.options.batchSize);
    if (batch.length === 0) return;
    try {
      await this.insert(batch);
      this.counts.recorded += batch.length;
      if (this.failing) this.options.warn?.('recording served lists works again');
      this.failing = false;
    } catch (error) {
      // Back to the front, oldest first, within the bound; what does not fit is dropped.
      const kept = batch.concat(this.buffer);
      const room = this.stopped ? 0 : this.options.maxBuffered;
      this.counts.dropped += Math.max(0, kept.length - room);
      this.buffer = kept.slice(0, room);
      if (!this.failing)
        this.options.warn?.(
          `recording served lists failed (${this.buffer.length} kept for a retry): ${String(error)}`,
        );
      this.failing = true;
      if (rethrow) throw error;
    }
  }

  private async insert(batch: readonly ServedList[]): Promise<void> {
    // unnest flattens a two-dimensional array, so each list's movie ids travel as an array literal.
    // ON CONFLICT: a write whose answer was lost and is retried must not fail its whole batch.
    await this.db.query(
      `INSERT INTO recommendation_lists
         (list_id, user_id, strategy_requested, strategy_used, experiment, variant, movie_ids, served_at)
       SELECT list_id, user_id, strategy_requested, strategy_used, experiment, variant, movie_ids::int[], served_at
         FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::timestamptz[])
           AS l(list_id, user_id, strategy_requested, strategy_used, experiment, variant, movie_ids, served_at)
       ON CONFLICT (list_id) DO NOTHING`,
      [
        batch.map((l) => l.listId),
        batch.map((l) => l.userId),
        batch.map((l) => l.strategyRequested),
        batch.map((l) => l.strategyUsed),
        batch.map((l) => l.experiment),
        batch.map((l) => l.variant),
        batch.map((l) => `{${l.movieIds.join(',')}}`),
        batch.map((l) => l.servedAt),
      ],
    );
  }
}
