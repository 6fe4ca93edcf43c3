/** Compressed sparse rows: row r's entries are columns/values[offsets[r] .. offsets[r + 1]). */
export interface CsrMatrix {
  readonly numRows: number;
  readonly numColumns: number;
  readonly offsets: Int32Array;
  readonly columns: Int32Array;
  readonly values: Float32Array;
}

/**
 * Builds a CSR matrix from coordinate triples (duplicates are kept as separate entries). Within a
 * row, entries are sorted by column so that every consumer sees the same deterministic order.
 */
export function buildCsr(
  rows: Int32Array,
  columns: Int32Array,
  values: Float32Array,
  numRows: number,
  numColumns: number,
): CsrMatrix {
  const offsets = new Int32Array(numRows + 1);
  for (let n = 0; n < rows.length; n++) offsets[rows[n] + 1]++;
  for (let r = 0; r < numRows; r++) offsets[r + 1] += offsets[r];
  const cursor = offsets.slice(0, numRows);
  const outColumns = new Int32Array(rows.length);
  const outValues = new Float32Array(rows.length);
  for (let n = 0; n < rows.length; n++) {
    const at = cursor[rows[n]]++;
    outColumns[at] = columns[n];
    outValues[at] = values[n];
  }
  for (let r = 0; r < numRows; r++) sortRowByColumn(outColumns, outValues, offsets[r], offsets[r + 1]);
  return { numRows, numColumns, offsets, columns: outColumns, values: outValues };
}

function sortRowByColumn(columns: Int32Array, values: Float32Array, start: number, end: number): void {
  for (let i = start + 1; i < end; i++) {
    const column = columns[i];
    const value = values[i];
    let j = i - 1;
    while (j >= start && columns[j] > column) {
      columns[j + 1] = columns[j];
      values[j + 1] = values[j];
      j--;
    }
    columns[j + 1] = column;
    values[j + 1] = value;
  }
}

/**
 * out = A · X where X is dense numColumns × width and out is numRows × width, both column-major
 * (each of the `width` columns stored contiguously).
 */
export function csrTimesDense(a: CsrMatrix, x: Float64Array, width: number, out: Float64Array): void {
  const { numRows, numColumns, offsets, columns, values } = a;
  for (let c = 0; c < width; c++) {
    const xStart = c * numColumns;
    const outStart = c * numRows;
    for (let r = 0; r < numRows; r++) {
      let sum = 0;
      for (let e = offsets[r]; e < offsets[r + 1]; e++) sum += values[e] * x[xStart + columns[e]];
      out[outStart + r] = sum;
    }
  }
}

/** out = Aᵀ · Y where Y is dense numRows × width and out is numColumns × width, both column-major. */
export function csrTransposeTimesDense(
  a: CsrMatrix,
  y: Float64Array,
  width: number,
  out: Float64Array,
): void {
  const { numRows, numColumns, offsets, columns, values } = a;
  out.fill(0, 0, numColumns * width);
  for (let c = 0; c < width; c++) {
    const yStart = c * numRows;
    const outStart = c * numColumns;
    for (let r = 0; r < numRows; r++) {
      const weight = y[yStart + r];
      if (weight === 0) continue;
      for (let e = offsets[r]; e < offsets[r + 1]; e++) out[outStart + columns[e]] += values[e] * weight;
    }
  }
}
