import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { type SyntheticCatalog, writeSyntheticRelease } from '../../fixtures/synthetic';
import { importRelease } from '../../src/data/importer';

/**
 * Loads a synthetic catalog into a test database the way a real release arrives: written out as
 * MovieLens CSV files in a scratch folder (removed afterwards) and read by the importer.
 */
export async function importSyntheticCatalog(
  dataSource: DataSource,
  catalog: SyntheticCatalog,
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-release-'));
  try {
    await importRelease(dataSource, await writeSyntheticRelease(dir, catalog));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
