/**
 * Warm start: loading the active model's factors stored as `real[]` text rows (before issue 12) and
 * as bytea blocks of raw typed arrays (now), side by side, for a model of the given shape (default:
 * ML-25M's 162,541 users and 62,423 movies, 300 factors, top-N rank 50). Writes both versions into a
 * scratch schema of DATABASE_URL and drops it afterwards.
 *
 *   DATABASE_URL=postgres://…/db node -r @swc-node/register scripts/bench-model-load.ts [--users N --items N]
 */
import 'reflect-metadata';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { storedModelsOfShape } from '../fixtures/stored-models';
import { openDatabase } from '../src/db/datasource';
import { float32Text } from '../src/db/float32-text';
import { ModelStore, type StoredModels } from '../src/engines/collaborative/model-store';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function model(users: number, items: number, k: number, rank: number): StoredModels {
  return storedModelsOfShape({
    users,
    items,
    k,
    rank,
    value: (n, seed) => Math.sin(n * 0.7 + seed) * 0.1,
    userId: (u) => u + 1,
  });
}

const USAGE = `usage: DATABASE_URL=postgres://…/db node -r @swc-node/register scripts/bench-model-load.ts [--users N] [--items N]

Warm start: loads a model of that shape stored as real[] text rows and as bytea blocks, side by side,
in a scratch schema of DATABASE_URL (dropped afterwards). Defaults: ML-25M's 162,541 users, 62,423 movies.
`;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('set DATABASE_URL');
  const users = flag('users', 162_541);
  const items = flag('items', 62_423);
  const schema = `bench_model_load_${process.pid}`;
  const db = await openDatabase({ url, poolSize: 2, schema });
  try {
    const store = new ModelStore(db);
    const saved = model(users, items, 300, 50);
    let t = performance.now();
    const binaryId = await store.save(saved);
    const binarySave = (performance.now() - t) / 1000;

    // The former layout: one real[] row per item and per user, written as the old store wrote them.
    t = performance.now();
    const [{ id: textId }] = await db.query(
      `INSERT INTO model_versions (status, hyperparameters, metrics, params) SELECT 'ready', hyperparameters, metrics, params FROM model_versions WHERE id = $1 RETURNING id`,
      [binaryId],
    );
    const { biased, topN } = saved;
    if (topN.kind === 'ease') throw new Error('text factor rows hold PureSVD or iALS factors only');
    const topNFactors = topN.itemFactors;
    for (let start = 0; start < items; start += 2000) {
      const end = Math.min(items, start + 2000);
      const range = Array.from({ length: end - start }, (_, n) => start + n);
      await db.query(
        `INSERT INTO model_item_factors (model_id, movie_id, bias, factors, topn_factors)
         SELECT $1, movie_id, bias, factors::real[], topn::real[] FROM unnest($2::int[], $3::real[], $4::text[], $5::text[]) AS t(movie_id, bias, factors, topn)`,
        [
          textId,
          range.map((i) => biased.itemIds[i]),
          range.map((i) => biased.itemBias[i]),
          range.map((i) => `{${float32Text(biased.itemFactors, i * 300, 300)}}`),
          range.map((i) => `{${float32Text(topNFactors, i * 50, 50)}}`),
        ],
      );
    }
    for (let start = 0; start < users; start += 2000) {
      const end = Math.min(users, start + 2000);
      const range = Array.from({ length: end - start }, (_, n) => start + n);
      await db.query(
        `INSERT INTO model_user_factors (model_id, user_id, bias, factors)
         SELECT $1, user_id, bias, factors::real[] FROM unnest($2::int[], $3::real[], $4::text[]) AS t(user_id, bias, factors)`,
        [
          textId,
          range.map((u) => biased.userIds[u]),
          range.map((u) => biased.userBias[u]),
          range.map((u) => `{${float32Text(biased.userFactors, u * 300, 300)}}`),
        ],
      );
    }
    const textSave = (performance.now() - t) / 1000;

    const time = async (id: number) => {
      await store.activate(id);
      const started = performance.now();
      const loaded = await store.loadActive();
      if (!loaded || loaded.biased.userIds.length !== users) throw new Error('model did not load whole');
      return (performance.now() - started) / 1000;
    };
    // Alternating, twice each, so that both see the same machine.
    const text = [await time(textId)];
    const binary = [await time(binaryId)];
    text.push(await time(textId));
    binary.push(await time(binaryId));
    const best = (values: number[]) => Math.min(...values);
    process.stdout.write(
      `model: ${users} users, ${items} items, 300 factors, top-N rank 50\n` +
        `save:  real[] rows ${textSave.toFixed(1)} s, bytea blocks ${binarySave.toFixed(1)} s\n` +
        `load:  real[] rows ${text.map((s) => s.toFixed(1)).join(' / ')} s, bytea blocks ${binary
          .map((s) => s.toFixed(1))
          .join(' / ')} s: ${(best(text) / best(binary)).toFixed(1)}× faster (best of 2 each)\n` +
        `load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}\n`,
    );
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
