import { open, readFile, rename, unlink } from 'node:fs/promises';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
    readonly lockFile: string,
  ) {
    super(
      `the embedded database ${dataDir} is held by process ${holderPid} (lock file ${lockFile}). ` +
        'One process at a time may open it: stop that one first, or run several processes against ' +
        'PostgreSQL (set DATABASE_URL). If process ' +
        `${holderPid} is not Cinegraph, delete the lock file.`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holderOf(file: string): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * An exclusive lock on an embedded data directory: `<dataDir>.lock` holding the owner's pid,
 * created with O_EXCL. Two processes on one PGlite directory both served, handed out the same user
 * ids, and left files that never opened again; PGlite itself takes no lock. A lock whose process
 * is gone (kill -9, a crash) is taken over; a live holder, this process included, is refused.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const lockFile = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(lockFile, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return {
        async release() {
          if ((await holderOf(lockFile)) === process.pid) await unlink(lockFile).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await holderOf(lockFile);
    if (holder !== null && isAlive(holder)) throw new DataDirLockedError(dataDir, holder, lockFile);
    // Stale (or empty: its writer died between create and write). Move it aside rather than unlink
    // it, and look at what was moved: if another process took the lock over meanwhile, that is
    // its fresh lock, which goes back.
    const aside = `${lockFile}.${process.pid}.stale`;
    try {
      await rename(lockFile, aside);
    } catch {
      continue;
    }
    const moved = await holderOf(aside);
    if (moved !== null && moved !== holder && isAlive(moved))
      await rename(aside, lockFile).catch(() => undefined);
    else await unlink(aside).catch(() => undefined);
  }
  throw new Error(`could not take the lock ${lockFile}: it keeps changing hands`);
}
