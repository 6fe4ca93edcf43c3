import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import { DomainError } from '../errors';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded';

/**
 * Runs an operator's command (`npm run migrate`, `keys`, `experiments`) on DATABASE_URL, or, when it
 * is unset, on the embedded PGlite database `npm start` uses (DATA_DIR/pglite, whose lock makes a
 * running server refuse it). `open` connects; the data source and the embedded database are closed
 * after `work`, however it ends.
 */
export async function withCommandDatabase<T>(
  config: Config,
  open: (url: string) => Promise<DataSource>,
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    // The directory the server's embedded database lives in (app.ts, connectDatabase).
    const dataDir = path.join(config.dataDir, 'pglite');
    process.stderr.write(`DATABASE_URL is unset: using the embedded database in ${dataDir}\n`);
    embedded = await startEmbeddedDatabase({ dataDir, port: 0, poolSize: 1 });
    url = embedded.url;
  }
  try {
    const dataSource = await open(url);
    try {
      return await work(dataSource);
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await embedded?.stop();
  }
}

/**
 * A command's entry point: the exit code `main` gives; a refusal the domain raised on purpose
 * (DomainError) prints its message and exits 1; anything else prints "<name> failed: …" and exits 1.
 */
export function runCommand(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(error instanceof DomainError ? `${message}\n` : `${name} failed: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
