import type { Pool, PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { DataSource, EntityManager } from 'typeorm';
import { allowLongStatements } from '../../db/guarded-pool';
import { pgPoolOf } from '../../db/pg-pool';

/**
 * A model version's typed arrays as bytea blocks (migration BinaryModelFactors): written and read as
 * raw little-endian bytes, so a warm start copies bytes instead of parsing `real[]` text.
 */
export type FactorArray = Int32Array | Float32Array | Float64Array;

/** 8 MiB per block: one block's hex text on the wire stays small next to the arrays themselves. */
export const FACTOR_BLOCK_BYTES = 8 << 20;

type Querier = Pick<EntityManager, 'query'>;

export async function writeFactorBlocks(
  db: Querier,
  modelId: number,
  parts: Readonly<Record<string, FactorArray>>,
): Promise<void> {
  for (const [part, array] of Object.entries(parts)) {
    const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
    // An empty array still gets one (empty) block, so that its presence says "binary version".
    for (
      let block = 0, offset = 0;
      offset < bytes.length || block === 0;
      block++, offset += FACTOR_BLOCK_BYTES
    ) {
      await db.query(
        `INSERT INTO model_factor_blocks (model_id, part, block, data) VALUES ($1, $2, $3, $4)`,
        [modelId, part, block, bytes.subarray(offset, Math.min(bytes.length, offset + FACTOR_BLOCK_BYTES))],
      );
    }
  }
}

export async function hasFactorBlocks(db: Querier, modelId: number): Promise<boolean> {
  const rows: unknown[] = await db.query(`SELECT 1 FROM model_factor_blocks WHERE model_id = $1 LIMIT 1`, [
    modelId,
  ]);
  return rows.length > 0;
}

/**
 * One part, block by block (one block's hex text in flight at a time), into a fresh typed array: the
 * path for databases that cannot stream a binary COPY (PGlite); see readFactorPartFast.
 */
export async function readFactorPart<T extends FactorArray>(
  db: Querier,
  modelId: number,
  part: string,
  Make: { new (length: number): T; BYTES_PER_ELEMENT: number },
): Promise<T> {
  const blocks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const rows: { data: Buffer }[] = await db.query(
      `SELECT data FROM model_factor_blocks WHERE model_id = $1 AND part = $2 AND block = $3`,
      [modelId, part, blocks.length],
    );
    if (rows.length === 0) break;
    blocks.push(rows[0].data);
    total += rows[0].data.length;
  }
  if (blocks.length === 0) throw new Error(`model version ${modelId} has no "${part}" blocks`);
  if (total % Make.BYTES_PER_ELEMENT !== 0)
    throw new Error(
      `model version ${modelId}: "${part}" holds ${total} bytes, not whole ${Make.name} elements`,
    );
  const out = new Make(total / Make.BYTES_PER_ELEMENT);
  const target = new Uint8Array(out.buffer);
  let offset = 0;
  for (let n = 0; n < blocks.length; n++) {
    target.set(blocks[n], offset);
    offset += blocks[n].length;
    blocks[n] = Buffer.alloc(0);
  }
  return out;
}

/** The 11-byte signature that opens PostgreSQL's binary COPY format, before flags and extension length. */
const BINARY_COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Reads a `COPY (SELECT one bytea column …) TO STDOUT (FORMAT binary)` stream straight into `target`:
 * the values' raw bytes, one after the other, with no text on the way. Returns the bytes written.
 */
export class BinaryCopyBytes {
  private pending = Buffer.alloc(0);
  private fieldLeft = 0;
  private headerDone = false;
  private finished = false;
  written = 0;

  constructor(private readonly target: Uint8Array) {}

  push(chunk: Buffer): void {
    const input = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    let at = 0;
    while (at < input.length && !this.finished) {
      if (this.fieldLeft > 0) {
        const take = Math.min(this.fieldLeft, input.length - at);
        if (this.written + take > this.target.length)
          throw new Error(`binary COPY holds more than the ${this.target.length} bytes expected`);
        this.target.set(input.subarray(at, at + take), this.written);
        this.written += take;
        this.fieldLeft -= take;
        at += take;
        continue;
      }
      if (!this.headerDone) {
        if (input.length - at < 19) break;
        if (!input.subarray(at, at + 11).equals(BINARY_COPY_SIGNATURE))
          throw new Error('not a binary COPY stream');
        const extension = input.readUInt32BE(at + 15);
        if (input.length - at < 19 + extension) break;
        at += 19 + extension;
        this.headerDone = true;
        continue;
      }
      if (input.length - at < 2) break;
      const fields = input.readInt16BE(at);
      if (fields === -1) {
        this.finished = true;
        break;
      }
      if (fields !== 1) throw new Error(`binary COPY of ${fields} columns, expected one bytea`);
      if (input.length - at < 6) break;
      const length = input.readInt32BE(at + 2);
      if (length < 0) throw new Error('a factor block is NULL');
      this.fieldLeft = length;
      at += 6;
    }
    if (at < input.length && !this.finished) this.pending = Buffer.from(input.subarray(at));
  }

  end(): number {
    if (!this.finished || this.fieldLeft > 0 || this.pending.length > 0)
      throw new Error('the binary COPY stream ended early');
    return this.written;
  }
}

const copyCapable = new WeakMap<DataSource, Promise<Pool | null>>();

/** The DataSource's pg pool when it is a PostgreSQL server (PGlite's socket does not stream COPY TO). */
function copyPool(db: DataSource): Promise<Pool | null> {
  let found = copyCapable.get(db);
  if (!found) {
    const pool = pgPoolOf(db);
    found =
      pool === null
        ? Promise.resolve(null)
        : db
            .query(`SELECT version() AS version`)
            .then(([row]: { version: string }[]) => (/pglite|emscripten/i.test(row.version) ? null : pool));
    copyCapable.set(db, found);
    // A failed probe (the database briefly away) is asked again next time, not remembered.
    found.catch(() => copyCapable.delete(db));
  }
  return found;
}

/** Whether readFactorPartFast reads `db` by binary COPY (a PostgreSQL server) rather than as hex text. */
export async function readsByBinaryCopy(db: DataSource): Promise<boolean> {
  return (await copyPool(db)) !== null;
}

async function copyBytesInto(client: PoolClient, sql: string, target: Uint8Array): Promise<number> {
  const reader = new BinaryCopyBytes(target);
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT (FORMAT binary)`));
  for await (const chunk of stream) reader.push(chunk as Buffer);
  return reader.end();
}

/**
 * readFactorPart by binary COPY where the database is a PostgreSQL server: the bytea hex text a
 * plain SELECT returns cost 8 s of CPU for the 195 MB of user factors of an ML-25M model (the
 * warm start took 17–18 s on a quiet machine), decoding strings the size of the data twice over.
 * Elsewhere (PGlite) the hex path.
 */
export async function readFactorPartFast<T extends FactorArray>(
  db: DataSource,
  modelId: number,
  part: string,
  Make: { new (length: number): T; BYTES_PER_ELEMENT: number },
): Promise<T> {
  const pool = await copyPool(db);
  if (!pool) return readFactorPart(db, modelId, part, Make);
  if (!Number.isInteger(modelId) || !/^[a-z_]+$/.test(part))
    throw new Error(`invalid factor part ${modelId}/${part}`);
  // The column is STORAGE EXTERNAL, so octet_length reads each size from its TOAST pointer: 6 ms for
  // the 24 blocks of an ML-25M model's user factors, where reading them takes about a second.
  const [{ blocks, bytes }]: { blocks: number; bytes: number }[] = await db.query(
    `SELECT count(*)::int AS blocks, coalesce(sum(octet_length(data)), 0)::float8 AS bytes
       FROM model_factor_blocks WHERE model_id = $1 AND part = $2`,
    [modelId, part],
  );
  if (blocks === 0) throw new Error(`model version ${modelId} has no "${part}" blocks`);
  if (bytes % Make.BYTES_PER_ELEMENT !== 0)
    throw new Error(
      `model version ${modelId}: "${part}" holds ${bytes} bytes, not whole ${Make.name} elements`,
    );
  const out = new Make(bytes / Make.BYTES_PER_ELEMENT);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // A model may take seconds to read on a loaded machine: not under a request's statement timeout.
    await client.query('BEGIN READ ONLY');
    await allowLongStatements(client, true);
    const written = await copyBytesInto(
      client,
      `SELECT data FROM model_factor_blocks WHERE model_id = ${modelId} AND part = '${part}' ORDER BY block`,
      new Uint8Array(out.buffer),
    );
    if (written !== bytes)
      throw new Error(`model version ${modelId}: "${part}" read ${written} of ${bytes} bytes`);
    await client.query('COMMIT');
    await allowLongStatements(client, false);
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
  return out;
}
