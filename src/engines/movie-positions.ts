/**
 * Movie id → position in a list of movie ids: the content index's rows, the collaborative model's
 * items. Looked up for every rated movie and every candidate of a list (~450 a first HYBRID list,
 * thousands for a heavy user): a table indexed by id where the ids are small enough (MovieLens ids
 * reach 292,757 for 87,585 movies: a 1.2 MB table), a Map otherwise. The Map's lookups were ~2.5%
 * of the API thread under HYBRID load at 25M (CPU profile), and for a user with 29,523 ratings
 * reading them into the collaborative model's items took 0.58 ms through a Map against 0.14 ms
 * through the table (node micro-benchmark of that loop).
 */
export class MoviePositions {
  private readonly table: Int32Array | null = null;
  private readonly map: Map<number, number> | null = null;

  constructor(ids: ArrayLike<number>) {
    let max = -1;
    let dense = true;
    for (let p = 0; p < ids.length; p++) {
      const id = ids[p];
      if (!Number.isInteger(id) || id < 0) dense = false;
      else if (id > max) max = id;
    }
    if (dense && max < 4 * ids.length + DENSE_POSITIONS_SLACK) {
      const table = new Int32Array(max + 1).fill(-1);
      for (let p = 0; p < ids.length; p++) {
        if (table[ids[p]] !== -1) throw new RangeError(`movie ${ids[p]} appears twice`);
        table[ids[p]] = p;
      }
      this.table = table;
    } else {
      const map = new Map<number, number>();
      for (let p = 0; p < ids.length; p++) {
        if (map.has(ids[p])) throw new RangeError(`movie ${ids[p]} appears twice`);
        map.set(ids[p], p);
      }
      this.map = map;
    }
  }

  /** What it holds: the table, or ~40 B a movie for the Map. */
  get bytes(): number {
    return this.table ? this.table.byteLength : 40 * (this.map as Map<number, number>).size;
  }

  get(movieId: number): number | undefined {
    if (this.map) return this.map.get(movieId);
    const table = this.table as Int32Array;
    // Out of range or not an index (a fraction, NaN) reads undefined: no such movie.
    const p = table[movieId];
    return p === undefined || p < 0 ? undefined : p;
  }
}

/** Ids up to this beyond 4 per movie still get a table (a few MB at most). */
const DENSE_POSITIONS_SLACK = 1 << 20;
