import { ReusedMarks } from '../../src/engines/reused-marks';

describe('ReusedMarks', () => {
  it('marks the groups’ indices below the size for the call only, and clears them after a throw too', () => {
    const marks = new ReusedMarks();
    const seen = marks.within(6, [[1, 4], Int32Array.from([4, 9, -1])], (m) =>
      Array.from({ length: 6 }, (_, i) => m[i]),
    );
    expect(seen).toEqual([0, 1, 0, 0, 1, 0]);
    expect(() =>
      marks.within(6, [[2]], () => {
        throw new Error('read failed');
      }),
    ).toThrow('read failed');
    // A larger size grows the mask; nothing of the earlier calls is left marked.
    expect(marks.within(12, [[10]], (m) => Array.from(m.subarray(0, 12)))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
    ]);
    expect(marks.within(3, [], (m) => Array.from(m.subarray(0, 12)).every((v) => v === 0))).toBe(true);
  });
});
