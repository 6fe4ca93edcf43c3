import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  /** A postgres:// URL that `pg` (and so TypeORM) connects to over 127.0.0.1. */
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  /** Directory for the database files; null keeps everything in memory (tests). */
  dataDir: string | null;
  port: number;
  /** The client pool size; PGlite is one session, so the socket must admit the whole pool plus headroom. */
  poolSize: number;
}

/**
 * Starts PGlite (WASM Postgres) with pgvector and serves it over the wire protocol, so the rest of
 * Cinegraph talks to it exactly as to a real Postgres.
 */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir ?? undefined, { extensions: { vector } });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port,
    maxConnections: options.poolSize + 2,
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const [host, port] = server.getServerConn().split(':');
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
