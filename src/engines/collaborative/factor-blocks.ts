import type { EntityManager } from 'typeorm';

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
 * One part, block by block (one block's hex text in flight at a time), into a fresh typed array.
 * No size query first: octet_length() reads the whole value, which doubled the read time.
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
