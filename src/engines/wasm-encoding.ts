/**
 * The WebAssembly binary format's encodings, shared by the kernels this project assembles itself
 * (the SGD sweep, the content vote, EASE's column scores): each builds its module from opcodes, so
 * no compiler or .wasm file is part of the build.
 */

/** Value types. */
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
/** The empty block type. */
export const VOID = 0x40;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0);
  return bytes;
}

/** Signed LEB128 (i32.const immediates). */
export function sleb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** A length-prefixed vector of encoded items. */
export const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A section: its id, then its size-prefixed body. */
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
/** A name (an export's, an import's). */
export const utf8 = (text: string): number[] => vector([...new TextEncoder().encode(text)].map((b) => [b]));

/**
 * A module of one function (no results) exported as `name`, and its own memory of at least one
 * page, exported as `memory` and grown by the caller: the shape of the serving kernels.
 */
export function singleFunctionModule(
  name: string,
  params: readonly number[],
  locals: readonly (readonly [count: number, type: number])[],
  body: readonly number[],
): Uint8Array {
  const functionType = [0x60, ...vector(params.map((t) => [t])), ...vector([])];
  const code = [...vector(locals.map(([count, type]) => [...uleb(count), type])), ...body];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([functionType])),
    ...section(3, vector([uleb(0)])),
    ...section(5, vector([[0x00, ...uleb(1)]])),
    ...section(
      7,
      vector([
        [...utf8(name), 0x00, ...uleb(0)],
        [...utf8('memory'), 0x02, ...uleb(0)],
      ]),
    ),
    ...section(10, vector([[...uleb(code.length), ...code]])),
  ]);
}
