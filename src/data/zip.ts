import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';

/**
 * Just enough of PKZIP to unpack the GroupLens MovieLens archives (stored or deflated entries, no
 * encryption, no ZIP64), without adding a dependency. The central directory at the end of the file is
 * the authoritative list of entries; each entry's data is streamed through inflateRaw and checked
 * against its CRC-32 and size, so a truncated or corrupted download is caught here.
 */

export class ZipFormatError extends Error {
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'ZipFormatError';
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const ENCRYPTED_FLAG = 0x1;
/** The end record is 22 bytes plus a comment of at most 65,535. */
const MAX_END_RECORD_SEARCH = 22 + 0xffff;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (the zip/PNG polynomial), continuing from `previous` for data that arrives in chunks. */
export function crc32(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

async function readAt(handle: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

export async function listZipEntries(file: string): Promise<ZipEntry[]> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const tailLength = Math.min(size, MAX_END_RECORD_SEARCH);
    const tail = await readAt(handle, size - tailLength, tailLength);
    let end = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === END_OF_CENTRAL_DIRECTORY) {
        end = i;
        break;
      }
    }
    if (end < 0) throw new ZipFormatError(file, 'not a zip archive (no end of central directory record)');
    const entryCount = tail.readUInt16LE(end + 10);
    const directorySize = tail.readUInt32LE(end + 12);
    const directoryOffset = tail.readUInt32LE(end + 16);
    if (entryCount === 0xffff || directoryOffset === 0xffffffff)
      throw new ZipFormatError(file, 'ZIP64 archives are not supported');
    if (directoryOffset + directorySize > size) throw new ZipFormatError(file, 'truncated archive');

    const directory = await readAt(handle, directoryOffset, directorySize);
    const entries: ZipEntry[] = [];
    let offset = 0;
    for (let i = 0; i < entryCount; i++) {
      if (offset + 46 > directory.length || directory.readUInt32LE(offset) !== CENTRAL_DIRECTORY_HEADER)
        throw new ZipFormatError(file, `central directory entry ${i + 1} is damaged`);
      const flags = directory.readUInt16LE(offset + 8);
      const nameLength = directory.readUInt16LE(offset + 28);
      const extraLength = directory.readUInt16LE(offset + 30);
      const commentLength = directory.readUInt16LE(offset + 32);
      const name = directory.toString('utf8', offset + 46, offset + 46 + nameLength);
      if (flags & ENCRYPTED_FLAG) throw new ZipFormatError(file, `${name} is encrypted`);
      entries.push({
        name,
        method: directory.readUInt16LE(offset + 10),
        crc32: directory.readUInt32LE(offset + 16),
        compressedSize: directory.readUInt32LE(offset + 20),
        size: directory.readUInt32LE(offset + 24),
        localHeaderOffset: directory.readUInt32LE(offset + 42),
      });
      offset += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await handle.close();
  }
}

/** Resolves an entry name inside `destination`, refusing names that would escape it ("zip slip"). */
function safeTarget(zipFile: string, destination: string, name: string): string {
  const normalised = name.replace(/\\/g, '/');
  const target = path.resolve(destination, normalised);
  const root = path.resolve(destination);
  if (path.isAbsolute(normalised) || (target !== root && !target.startsWith(root + path.sep)))
    throw new ZipFormatError(zipFile, `entry "${name}" would be written outside the target directory`);
  return target;
}

class Crc32Check extends Transform {
  private crc = 0;
  private bytes = 0;

  constructor(
    private readonly zipFile: string,
    private readonly entry: ZipEntry,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.entry.size || this.crc !== this.entry.crc32)
      callback(new ZipFormatError(this.zipFile, `${this.entry.name} is corrupt (size or CRC-32 mismatch)`));
    else callback();
  }
}

/** Extracts every entry of `zipFile` under `destination`; returns the paths of the files written. */
export async function extractZip(zipFile: string, destination: string): Promise<string[]> {
  const entries = await listZipEntries(zipFile);
  await fs.mkdir(destination, { recursive: true });
  const written: string[] = [];
  const handle = await fs.open(zipFile, 'r');
  try {
    for (const entry of entries) {
      const target = safeTarget(zipFile, destination, entry.name);
      if (entry.name.endsWith('/')) {
        await fs.mkdir(target, { recursive: true });
        continue;
      }
      if (entry.method !== STORED && entry.method !== DEFLATED)
        throw new ZipFormatError(
          zipFile,
          `${entry.name} uses unsupported compression method ${entry.method}`,
        );
      const local = await readAt(handle, entry.localHeaderOffset, 30);
      if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_FILE_HEADER)
        throw new ZipFormatError(zipFile, `local header of ${entry.name} is damaged`);
      // The local header's name and extra field can differ in length from the central directory's.
      const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      await fs.mkdir(path.dirname(target), { recursive: true });
      // A read stream's `end` is inclusive, so an empty entry cannot be expressed as a byte range.
      const data =
        entry.compressedSize === 0
          ? Readable.from([])
          : createReadStream(zipFile, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
      const check = new Crc32Check(zipFile, entry);
      if (entry.method === DEFLATED)
        await pipeline(data, createInflateRaw(), check, createWriteStream(target));
      else await pipeline(data, check, createWriteStream(target));
      written.push(target);
    }
  } finally {
    await handle.close();
  }
  return written;
}
