import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { DataDirLock, lockDataDir } from './data-dir-lock';

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
  let lock: DataDirLock | null = null;
  if (options.dataDir) {
    await mkdir(path.dirname(options.dataDir), { recursive: true });
    lock = await lockDataDir(options.dataDir);
  }
  let db: PGlite | null = null;
  try {
    if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
    db = await PGlite.create(options.dataDir ?? undefined, { extensions: { vector } });
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: options.port,
      maxConnections: options.poolSize + 2,
    });
    await server.start();
    const [host, port] = server.getServerConn().split(':');
    const opened = db;
    return {
      url: `postgres://postgres@${host}:${port}/postgres`,
      async stop() {
        try {
          await server.stop();
          await opened.close();
        } finally {
          await lock?.release();
        }
      },
    };
  } catch (error) {
    await db?.close().catch(() => undefined);
    await lock?.release();
    throw error;
  }
}
