import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface LineBatch {
  /** 1-based number of `lines[0]`; lines[i] is line firstLine + i. */
  firstLine: number;
  /** Every line of the batch, empty ones included so numbering stays trivial; `\r` is stripped. */
  lines: string[];
  /** Bytes of the file consumed so far, for progress bars. */
  bytesRead: number;
}

/**
 * Reads a text file as batches of lines, one batch per read chunk. The importer parses tens of
 * millions of lines for the large releases; handing them over a chunk at a time instead of one
 * promise per line keeps reading far from being the bottleneck.
 */
export async function* readLineBatches(
  file: string,
  encoding: 'utf8' | 'latin1',
  chunkBytes = 1 << 20,
): AsyncGenerator<LineBatch> {
  // A StringDecoder keeps multi-byte UTF-8 sequences that straddle two chunks intact.
  const decoder = new StringDecoder(encoding);
  let pending = '';
  let nextLine = 1;
  let bytesRead = 0;
  let atStart = true;

  const split = (text: string, final: boolean): LineBatch | null => {
    const lines = text.split('\n');
    pending = final ? '' : (lines.pop() ?? '');
    if (final && lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) return null;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
    }
    const batch = { firstLine: nextLine, lines, bytesRead };
    nextLine += lines.length;
    return batch;
  };

  for await (const chunk of createReadStream(file, { highWaterMark: chunkBytes })) {
    const buffer = chunk as Buffer;
    bytesRead += buffer.length;
    let text = pending + decoder.write(buffer);
    if (atStart && text.length > 0) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const batch = split(text, false);
    if (batch) yield batch;
  }
  const batch = split(pending + decoder.end(), true);
  if (batch) yield batch;
}
