/** Nine significant digits round-trip any float32 exactly, and are half the length of a double's text. */
const FLOAT32_DIGITS = 9;

/**
 * `values[from … from+length)` as comma-separated decimal text, exact for float32: the body of a Postgres
 * `real[]` literal `{…}` (the collaborative factor tables; pgvector vectors are written by the `pgvector`
 * client, see vector-codec.ts). Non-finite values are refused, since the column would store them and
 * poison every score computed from them.
 */
export function float32Text(values: ArrayLike<number>, from = 0, length = values.length - from): string {
  const parts = new Array<string>(length);
  for (let i = 0; i < length; i++) {
    const value = Number(values[from + i]);
    if (!Number.isFinite(value))
      throw new RangeError(`component ${i} is ${value}; only finite values can be stored`);
    parts[i] = value.toPrecision(FLOAT32_DIGITS);
  }
  return parts.join(',');
}
