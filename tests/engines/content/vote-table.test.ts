import { VoteTable } from '../../../src/engines/content/content-engine';

describe('VoteTable', () => {
  it('keeps every vote by movie id as it grows past its first 64 slots, and replaces a vote in place', () => {
    const votes = new VoteTable();
    for (let id = 1; id <= 300; id++) votes.set(id * 7, id / 3);
    for (let id = 1; id <= 300; id++) expect(votes.get(id * 7)).toBe(id / 3);
    expect(votes.has(8)).toBe(false);
    expect(votes.get(8)).toBeUndefined();
    votes.set(7, -0.5);
    expect(votes.get(7)).toBe(-0.5);
    expect(votes.get(14)).toBe(2 / 3);
  });
});
