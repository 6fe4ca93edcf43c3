/** Small dense linear algebra on typed arrays, sized for k ≤ a few hundred (normal equations, SVD cores). */

export class NotPositiveDefiniteError extends Error {
  constructor(pivot: number) {
    super(`matrix is not positive definite (pivot ${pivot})`);
    this.name = 'NotPositiveDefiniteError';
  }
}

/**
 * In-place Cholesky factorisation of the symmetric positive definite n×n row-major matrix `a`:
 * afterwards its lower triangle holds L with A = L Lᵀ (the upper triangle is left untouched).
 */
export function choleskyInPlace(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let diagonal = a[rowJ + j];
    for (let c = 0; c < j; c++) diagonal -= a[rowJ + c] * a[rowJ + c];
    if (!(diagonal > 0)) throw new NotPositiveDefiniteError(j);
    const pivot = Math.sqrt(diagonal);
    a[rowJ + j] = pivot;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = a[rowI + j];
      for (let c = 0; c < j; c++) sum -= a[rowI + c] * a[rowJ + c];
      a[rowI + j] = sum / pivot;
    }
  }
}

/** Solves L Lᵀ x = b in place (b becomes x), L being the lower triangle left by choleskyInPlace. */
export function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    const row = i * n;
    for (let c = 0; c < i; c++) sum -= l[row + c] * b[c];
    b[i] = sum / l[row + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i];
    for (let r = i + 1; r < n; r++) sum -= l[r * n + i] * b[r];
    b[i] = sum / l[i * n + i];
  }
}

/**
 * Eigen-decomposition of a symmetric n×n row-major matrix by cyclic Jacobi rotations (robust and
 * accurate for the small cores of a randomised SVD). Returns eigenvalues in descending order and the
 * matching eigenvectors as the COLUMNS of a row-major n×n matrix.
 */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let offDiagonal = 0;
    let diagonal = 0;
    for (let i = 0; i < n; i++) {
      diagonal += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) offDiagonal += a[i * n + j] * a[i * n + j];
    }
    if (offDiagonal <= 1e-30 * diagonal || offDiagonal === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < n; r++) {
          const arp = a[r * n + p];
          const arq = a[r * n + q];
          a[r * n + p] = c * arp - s * arq;
          a[r * n + q] = s * arp + c * arq;
        }
        for (let r = 0; r < n; r++) {
          const apr = a[p * n + r];
          const aqr = a[q * n + r];
          a[p * n + r] = c * apr - s * aqr;
          a[q * n + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < n; r++) {
          const vrp = v[r * n + p];
          const vrq = v[r * n + q];
          v[r * n + p] = c * vrp - s * vrq;
          v[r * n + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x] || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((source, target) => {
    values[target] = a[source * n + source];
    for (let r = 0; r < n; r++) vectors[r * n + target] = v[r * n + source];
  });
  return { values, vectors };
}

/**
 * Orthonormalises the `columns` column vectors of length `length` stored contiguously one after
 * another (column-major), by modified Gram–Schmidt applied twice ("twice is enough") for stability.
 * A column that collapses numerically is replaced by zeros.
 */
export function orthonormalizeColumns(matrix: Float64Array, length: number, columns: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < columns; c++) {
      const cStart = c * length;
      for (let prior = 0; prior < c; prior++) {
        const pStart = prior * length;
        let projection = 0;
        for (let r = 0; r < length; r++) projection += matrix[cStart + r] * matrix[pStart + r];
        for (let r = 0; r < length; r++) matrix[cStart + r] -= projection * matrix[pStart + r];
      }
      let norm = 0;
      for (let r = 0; r < length; r++) norm += matrix[cStart + r] * matrix[cStart + r];
      norm = Math.sqrt(norm);
      const scale = norm > 1e-12 ? 1 / norm : 0;
      for (let r = 0; r < length; r++) matrix[cStart + r] *= scale;
    }
  }
}

/** scores[i] = w · h_i for every item: how iALS and PureSVD both score a user against item factors. */
export function factorScores(
  itemFactors: Float32Array,
  rank: number,
  userVector: ArrayLike<number>,
  out: Float32Array,
): void {
  const numItems = itemFactors.length / rank;
  for (let item = 0, offset = 0; item < numItems; item++, offset += rank) {
    let s0 = 0;
    let s1 = 0;
    let f = 0;
    for (; f + 1 < rank; f += 2) {
      s0 += userVector[f] * itemFactors[offset + f];
      s1 += userVector[f + 1] * itemFactors[offset + f + 1];
    }
    if (f < rank) s0 += userVector[f] * itemFactors[offset + f];
    out[item] = s0 + s1;
  }
}

/**
 * w · row `offset` of `rows`, summed exactly as `factorScores` sums it and rounded to float32 as it
 * stores it: an item scored alone (approximate retrieval, another engine's candidate) gets the very
 * score the full pass gives it.
 */
export function itemScore(
  userVector: ArrayLike<number>,
  rows: Float32Array,
  offset: number,
  rank: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let f = 0;
  for (; f + 1 < rank; f += 2) {
    s0 += userVector[f] * rows[offset + f];
    s1 += userVector[f + 1] * rows[offset + f + 1];
  }
  if (f < rank) s0 += userVector[f] * rows[offset + f];
  return Math.fround(s0 + s1);
}
