/**
 * A mask of indices (item indices, movie ids) kept between calls: marked, read and cleared again
 * with no await between, so one mask serves every request of the thread. For a user's rated movies
 * on a list's path: a Set of them per list, or a search of them per movie looked at, was a large
 * share of a first list for users with thousands of ratings (CPU profiles at 25M, README).
 */
export class ReusedMarks {
  private marks = new Uint8Array(0);

  /**
   * `read`'s answer, called with the indices in `groups` that are below `size` marked 1 (every other
   * entry 0); they are cleared before this returns, `read` throwing or not.
   */
  within<T>(size: number, groups: readonly ArrayLike<number>[], read: (marks: Uint8Array) => T): T {
    if (this.marks.length < size) this.marks = new Uint8Array(size);
    const marks = this.marks;
    const setAll = (value: number) => {
      for (const group of groups)
        for (let n = 0; n < group.length; n++) {
          const index = group[n];
          if (index >= 0 && index < size) marks[index] = value;
        }
    };
    setAll(1);
    try {
      return read(marks);
    } finally {
      setAll(0);
    }
  }
}
