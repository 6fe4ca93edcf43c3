import { orthonormalizeColumns, symmetricEigen } from './linalg';
import { Mulberry32 } from './prng';
import { csrTimesDense, csrTransposeTimesDense, type CsrMatrix } from './sparse';

export interface RandomizedSvdOptions {
  /** Number of singular triplets kept. */
  readonly rank: number;
  /** Extra random directions sampled beyond `rank` (improves accuracy of the trailing ones). */
  readonly oversampling: number;
  /** Power (subspace) iterations; each sharpens the spectrum for sparse rating matrices. */
  readonly powerIterations: number;
  readonly seed: number;
}

export interface TruncatedSvd {
  readonly rank: number;
  /** Singular values, descending. */
  readonly singularValues: Float64Array;
  /** Right singular vectors: numColumns × rank, row-major (row = one item's coordinates). */
  readonly rightVectors: Float32Array;
}

/**
 * Truncated SVD A ≈ U Σ Vᵀ of a sparse matrix by the randomised range finder of Halko, Martinsson
 * and Tropp (2011): Y = (A Aᵀ)^q A Ω, orthonormalised after every product, then the exact SVD of the
 * small projection B = Qᵀ A through the eigen-decomposition of B Bᵀ. Only V and Σ are returned
 * because PureSVD scores with the item space alone.
 */
export function randomizedSvd(a: CsrMatrix, options: RandomizedSvdOptions): TruncatedSvd {
  const { numRows, numColumns } = a;
  const rank = Math.min(options.rank, numRows, numColumns);
  const width = Math.min(rank + options.oversampling, numRows, numColumns);
  const rng = new Mulberry32(options.seed);

  const omega = new Float64Array(numColumns * width);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.nextGaussian();
  const rowSpace = new Float64Array(numRows * width);
  const columnSpace = new Float64Array(numColumns * width);

  // Subspace iteration on A Aᵀ. Re-orthonormalising in the smaller of the two spaces after each
  // round trip is enough to keep the basis well conditioned, and costs far less than doing both.
  const normalizeRows = numRows <= numColumns;
  csrTimesDense(a, omega, width, rowSpace);
  for (let iteration = 0; iteration < options.powerIterations; iteration++) {
    if (normalizeRows) orthonormalizeColumns(rowSpace, numRows, width);
    csrTransposeTimesDense(a, rowSpace, width, columnSpace);
    if (!normalizeRows) orthonormalizeColumns(columnSpace, numColumns, width);
    csrTimesDense(a, columnSpace, width, rowSpace);
  }
  orthonormalizeColumns(rowSpace, numRows, width);

  // C = Aᵀ Q (numColumns × width) is Bᵀ; the eigenvectors of CᵀC = B Bᵀ are B's left singular vectors.
  csrTransposeTimesDense(a, rowSpace, width, columnSpace);
  const gram = new Float64Array(width * width);
  for (let i = 0; i < width; i++) {
    for (let j = i; j < width; j++) {
      let sum = 0;
      const iStart = i * numColumns;
      const jStart = j * numColumns;
      for (let r = 0; r < numColumns; r++) sum += columnSpace[iStart + r] * columnSpace[jStart + r];
      gram[i * width + j] = sum;
      gram[j * width + i] = sum;
    }
  }
  const { values, vectors } = symmetricEigen(gram, width);

  // V = C U_B Σ⁻¹, keeping the leading `rank` columns.
  const singularValues = new Float64Array(rank);
  const rightVectors = new Float32Array(numColumns * rank);
  const row = new Float64Array(width);
  for (let f = 0; f < rank; f++) singularValues[f] = Math.sqrt(Math.max(values[f], 0));
  for (let item = 0; item < numColumns; item++) {
    for (let c = 0; c < width; c++) row[c] = columnSpace[c * numColumns + item];
    for (let f = 0; f < rank; f++) {
      if (singularValues[f] <= 1e-12) continue;
      let sum = 0;
      for (let c = 0; c < width; c++) sum += row[c] * vectors[c * width + f];
      rightVectors[item * rank + f] = sum / singularValues[f];
    }
  }
  return { rank, singularValues, rightVectors };
}
