/**
 * The vector boundary, measured side by side in one run: writing embeddings as the hand-written float32
 * literal (9 significant digits, src/db/float32-text.ts) or as the `pgvector` client's toSql (JSON of the
 * doubles), and reading them as `vector_send` bytes (vector-codec.ts) or as text parsed by the client's
 * fromSql (what its pg type registration installs). Encode/decode alone, then the round trip through
 * PostgreSQL (a temporary table; DATABASE_URL, default the local test database).
 *
 *   node -r @swc-node/register scripts/bench-vector-codec.ts [--vectors 2000] [--dimension 512] [--repeats 5]
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import pgvector from 'pgvector';
import { createRandom } from '../fixtures/synthetic';
import { answerHelp } from '../src/cli-help';
import { fromVectorSend, toVectorLiteral } from '../src/engines/content/vector-codec';

const USAGE = `Usage: node -r @swc-node/register scripts/bench-vector-codec.ts [--vectors 2000] [--dimension 512] [--repeats 5]

Hand-written pgvector literals and vector_send decoding against the pgvector client's toSql / fromSql:
encode and decode time, text size, and the write and read round trips through PostgreSQL (DATABASE_URL,
default the local test database). Prints the median of --repeats runs and the load average.

  -h, --help   print this text`;

answerHelp(USAGE);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function timeMs(repeats: number, run: () => unknown): number {
  run();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function timeMsAsync(repeats: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return median(times);
}

const pgvectorLiteral = (vector: Float32Array) => pgvector.toSql(Array.from(vector)) as string;
const pgvectorParse = (text: string) => Float32Array.from(pgvector.fromSql(text) as number[]);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      vectors: { type: 'string', default: '2000' },
      dimension: { type: 'string', default: '512' },
      repeats: { type: 'string', default: '5' },
    },
  });
  const count = Number(values.vectors);
  const dimension = Number(values.dimension);
  const repeats = Number(values.repeats);
  const random = createRandom(7);
  // Unit vectors like the embedders' output.
  const vectors = Array.from({ length: count }, () => {
    const v = Float32Array.from({ length: dimension }, () => random() * 2 - 1);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });

  const hand = vectors.map(toVectorLiteral);
  const client = vectors.map(pgvectorLiteral);
  // Both must give back the stored float32 values exactly.
  for (let i = 0; i < 20; i++) {
    if (!pgvectorParse(hand[i]).every((x, j) => x === vectors[i][j]))
      throw new Error('hand literal is lossy');
    if (!pgvectorParse(client[i]).every((x, j) => x === vectors[i][j])) throw new Error('toSql is lossy');
  }
  const chars = (texts: string[]) => texts.reduce((sum, t) => sum + t.length, 0) / texts.length;

  const db = new Client({
    connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  });
  await db.connect();
  try {
    await db.query(`CREATE TEMP TABLE bench_vectors (id int PRIMARY KEY, v vector(${dimension}))`);
    const write = (texts: string[]) => async () => {
      await db.query('TRUNCATE bench_vectors');
      for (let start = 0; start < texts.length; start += 64) {
        const batch = texts.slice(start, start + 64);
        await db.query(
          `INSERT INTO bench_vectors SELECT start + n, v::vector FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n),
             (SELECT $2::int AS start) s`,
          [batch, start],
        );
      }
    };
    const writeHand = await timeMsAsync(repeats, write(hand));
    const writeClient = await timeMsAsync(repeats, write(client));
    const readBinary = await timeMsAsync(repeats, async () => {
      const { rows } = await db.query<{ v: Buffer }>('SELECT vector_send(v) AS v FROM bench_vectors');
      return rows.map((row) => fromVectorSend(row.v));
    });
    const readText = await timeMsAsync(repeats, async () => {
      const { rows } = await db.query<{ v: string }>('SELECT v::text AS v FROM bench_vectors');
      return rows.map((row) => pgvectorParse(row.v));
    });
    const { rows: sendRows } = await db.query<{ v: Buffer }>('SELECT vector_send(v) AS v FROM bench_vectors');
    const { rows: textRows } = await db.query<{ v: string }>('SELECT v::text AS v FROM bench_vectors');
    const encodeHand = timeMs(repeats, () => vectors.map(toVectorLiteral));
    const encodeClient = timeMs(repeats, () => vectors.map(pgvectorLiteral));
    const decodeBinary = timeMs(repeats, () => sendRows.map((row) => fromVectorSend(row.v)));
    const decodeText = timeMs(repeats, () => textRows.map((row) => pgvectorParse(row.v)));

    const line = (label: string, handMs: number, clientMs: number) =>
      `| ${label} | ${handMs.toFixed(1)} | ${clientMs.toFixed(1)} | ${(clientMs / handMs).toFixed(2)} |`;
    process.stdout.write(
      [
        `${count} unit vectors of ${dimension} float32, median of ${repeats}; node ${process.version}, ` +
          `load average ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(' ')} on ${os.cpus().length} CPUs`,
        '',
        `text per vector: hand literal ${chars(hand).toFixed(0)} chars, pgvector toSql ${chars(client).toFixed(0)} chars`,
        '',
        '| step | hand-written ms | pgvector client ms | client / hand |',
        '|---|---:|---:|---:|',
        line('encode (JS only)', encodeHand, encodeClient),
        line('write to PostgreSQL (batches of 64)', writeHand, writeClient),
        line('decode (JS only): vector_send bytes vs text', decodeBinary, decodeText),
        line('read from PostgreSQL: vector_send vs ::text', readBinary, readText),
        '',
      ].join('\n'),
    );
  } finally {
    await db.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench-vector-codec failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
