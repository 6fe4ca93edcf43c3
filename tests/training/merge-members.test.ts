import { buildCsr } from '../../src/engines/collaborative/kernels/sparse';
import { CANDIDATE_POOL_SIZE, mergeMembers } from '../../training/calibration';

/**
 * The candidate pool of an evaluated HYBRID merge: each engine's top CANDIDATE_POOL_SIZE unrated
 * items, or, for an engine that finds its candidates approximately (candidatesOf), its top among
 * those it would find, as the served engine brings them.
 */
describe('mergeMembers', () => {
  const numItems = 200;
  // User 0 rated items 0 and 1.
  const byUser = buildCsr(Int32Array.of(0, 0), Int32Array.of(0, 1), Float32Array.of(4, 5), 1, numItems);
  const descending = () => Float32Array.from({ length: numItems }, (_, item) => numItems - item);
  const ascending = () => Float32Array.from({ length: numItems }, (_, item) => item);

  it('pools every engine’s top unrated items', () => {
    const scores = { collaborative: descending(), content: ascending(), statistical: descending() };
    const members = [...mergeMembers(scores, byUser, 0, numItems, 'candidate-pool')].sort((a, b) => a - b);
    const expected = [
      ...Array.from({ length: CANDIDATE_POOL_SIZE }, (_, i) => i + 2),
      ...Array.from({ length: CANDIDATE_POOL_SIZE }, (_, i) => numItems - CANDIDATE_POOL_SIZE + i),
    ];
    expect(members).toEqual(expected);
  });

  it('takes an engine’s top among its own candidates only, where it names them', () => {
    const scores = { collaborative: descending(), content: ascending(), statistical: descending() };
    // Content would find only items 60–89 itself: its best-scored items (150–199) are not its candidates.
    const own = new Set(Array.from({ length: 30 }, (_, i) => 60 + i));
    const members = new Set(mergeMembers(scores, byUser, 0, numItems, 'candidate-pool', { content: own }));
    for (const item of own) expect(members.has(item)).toBe(true);
    for (let item = 150; item < numItems; item++) expect(members.has(item)).toBe(false);
    expect(members.size).toBe(CANDIDATE_POOL_SIZE + own.size);
    expect(members.has(0) || members.has(1)).toBe(false);
  });
});
