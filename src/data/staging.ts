import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** How rows reach the staging tables: COPY where the server speaks it, batched INSERTs otherwise. */
export type BulkLoadMethod = 'copy' | 'insert';

export type StagingColumnType = 'integer' | 'bigint' | 'real' | 'text';
export type StagingValue = string | number | null;

export interface StagingTable {
  name: string;
  columns: ReadonlyArray<{ name: string; type: StagingColumnType }>;
}

export interface StagingWriter {
  readonly method: BulkLoadMethod;
  /** Buffers one row; values in column order. Throws (before buffering) if a text value cannot be stored. */
  add(values: readonly StagingValue[]): void;
  /**
   * Buffers one row already in COPY text form (tab-separated, escaped, no newline); only for
   * `method === 'copy'`. Saves formatting rows that arrive nearly in that form (ratings lines).
   */
  addCopyText(row: string): void;
  /** Hands buffered rows to the server, waiting while it is behind. Call between batches of lines. */
  flush(): Promise<void>;
  /** Sends the rest and completes the load. */
  finish(): Promise<void>;
  /** Abandons the load after an unexpected failure so the connection can still roll back. */
  abort(error: Error): Promise<void>;
}

const COPY_SPECIAL = /[\\\t\n\r]/;

/**
 * One value in COPY's text format: NULL is `\N`, and the characters that separate fields and rows
 * (tab, newline, carriage return) or start escapes (backslash) are escaped.
 */
export function copyTextValue(value: StagingValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  if (value.includes('\0')) throw new Error('text contains a NUL character, which Postgres cannot store');
  if (!COPY_SPECIAL.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (ch) =>
    ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r',
  );
}

export function createStagingTableSql(table: StagingTable): string {
  const columns = table.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  return `CREATE TEMP TABLE ${table.name} (${columns}) ON COMMIT DROP`;
}

/** Enough per write that protocol overhead vanishes, small enough to keep memory flat. */
const COPY_CHUNK_CHARS = 256 * 1024;

class CopyStagingWriter implements StagingWriter {
  readonly method = 'copy';
  private readonly stream;
  private buffered = '';
  private streamError: Error | null = null;

  constructor(client: PoolClient, table: StagingTable) {
    const columns = table.columns.map((c) => c.name).join(', ');
    this.stream = client.query(copyFrom(`COPY ${table.name} (${columns}) FROM STDIN`));
    this.stream.on('error', (error: Error) => {
      this.streamError ??= error;
    });
  }

  add(values: readonly StagingValue[]): void {
    let line = copyTextValue(values[0]);
    for (let i = 1; i < values.length; i++) line += '\t' + copyTextValue(values[i]);
    this.buffered += line + '\n';
  }

  addCopyText(row: string): void {
    this.buffered += row + '\n';
  }

  async flush(): Promise<void> {
    if (this.streamError) throw this.streamError;
    if (this.buffered.length < COPY_CHUNK_CHARS) return;
    await this.writeBuffered();
  }

  private async writeBuffered(): Promise<void> {
    const chunk = this.buffered;
    this.buffered = '';
    if (chunk.length === 0) return;
    if (!this.stream.write(chunk, 'utf8')) {
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'error')]);
    }
    if (this.streamError) throw this.streamError;
  }

  async finish(): Promise<void> {
    await this.writeBuffered();
    this.stream.end();
    await finished(this.stream);
    if (this.streamError) throw this.streamError;
  }

  async abort(error: Error): Promise<void> {
    this.buffered = '';
    if (this.stream.writableFinished || this.stream.destroyed) return;
    // destroy() sends CopyFail, which ends the COPY and leaves the connection usable for ROLLBACK.
    this.stream.destroy(error);
    await finished(this.stream).catch(() => undefined);
  }
}

/** Rows per INSERT … SELECT FROM unnest(…): one round trip per batch, one array parameter per column. */
const INSERT_BATCH_ROWS = 20_000;

/**
 * For servers without COPY FROM STDIN over the wire (the embedded PGlite socket server loses
 * protocol sync on CopyData), staging rows travel as column arrays through unnest().
 */
class InsertStagingWriter implements StagingWriter {
  readonly method = 'insert';
  private readonly sql: string;
  private columns: StagingValue[][];
  private rows = 0;

  constructor(
    private readonly client: PoolClient,
    private readonly table: StagingTable,
  ) {
    const names = table.columns.map((c) => c.name).join(', ');
    const arrays = table.columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    this.sql = `INSERT INTO ${table.name} (${names}) SELECT * FROM unnest(${arrays})`;
    this.columns = table.columns.map(() => []);
  }

  add(values: readonly StagingValue[]): void {
    for (const value of values) {
      if (typeof value === 'string' && value.includes('\0'))
        throw new Error('text contains a NUL character, which Postgres cannot store');
    }
    for (let i = 0; i < values.length; i++) this.columns[i].push(values[i]);
    this.rows++;
  }

  addCopyText(): void {
    throw new Error('addCopyText is for COPY staging; batched INSERTs take add(values)');
  }

  async flush(): Promise<void> {
    if (this.rows >= INSERT_BATCH_ROWS) await this.send();
  }

  private async send(): Promise<void> {
    if (this.rows === 0) return;
    const columns = this.columns;
    this.columns = this.table.columns.map(() => []);
    this.rows = 0;
    await this.client.query(this.sql, columns);
  }

  async finish(): Promise<void> {
    await this.send();
  }

  async abort(): Promise<void> {
    this.columns = this.table.columns.map(() => []);
    this.rows = 0;
  }
}

export function createStagingWriter(
  client: PoolClient,
  table: StagingTable,
  method: BulkLoadMethod,
): StagingWriter {
  return method === 'copy' ? new CopyStagingWriter(client, table) : new InsertStagingWriter(client, table);
}

/** PGlite identifies itself in version(); everything else is taken to be a real Postgres. */
export async function detectBulkLoadMethod(client: PoolClient): Promise<BulkLoadMethod> {
  const { rows } = await client.query<{ version: string }>('SELECT version() AS version');
  return /pglite|emscripten/i.test(rows[0]?.version ?? '') ? 'insert' : 'copy';
}
