import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Temporary release directories written by the tests themselves, removed by cleanup(). */
export class ReleaseDirs {
  private readonly dirs: string[] = [];

  /** Writes each file as given: strings as UTF-8 unless encoded to Buffers first (Latin-1 releases). */
  async write(files: Record<string, string | Buffer>): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-release-'));
    this.dirs.push(dir);
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export const csv = (...lines: string[]) => lines.join('\n') + '\n';
