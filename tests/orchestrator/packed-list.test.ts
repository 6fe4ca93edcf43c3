import type { RecommendationList } from '../../src/orchestrator/orchestrator';
import { packList, unpackList } from '../../src/orchestrator/packed-list';

const list: RecommendationList = {
  listId: '7f0c1c1e-5b7a-4d0e-9a55-3c1f1f0f2a10',
  experiment: 'ranking',
  variant: 'cf',
  strategyUsed: 'HYBRID',
  items: [
    {
      movieId: 318,
      rank: 1,
      score: 0.8734912349871234,
      strategyUsed: 'HYBRID',
      engineScores: { collaborative: 1, content: 0.3333333333333333, statistical: null },
      explanation: { text: 'Because you rated Heat 5★ and Ronin 4.5★', movieIds: [6, 2194] },
    },
    {
      movieId: 2571,
      rank: 2,
      score: 1e-17,
      strategyUsed: 'STATISTICAL',
      engineScores: { collaborative: null, content: null, statistical: 0 },
      explanation: { text: '', movieIds: [] },
    },
    {
      movieId: 1,
      rank: 3,
      score: -0.25,
      strategyUsed: 'CONTENT',
      engineScores: { collaborative: 0.5, content: 1, statistical: 0.75 },
      explanation: { text: 'Similar in content to Toy Story 2 (1999) 5★', movieIds: [3114] },
    },
  ],
  skippedEngines: [{ engine: 'content', reason: 'index building: 40%' }],
};

describe('packed lists', () => {
  it('unpack to the list that was packed: every number, null, text and evidence id', () => {
    const packed = packList(list);
    expect(unpackList(packed)).toEqual(list);
    // Twice, from the same packing: nothing in it is consumed or shared with the first copy.
    const again = unpackList(packed);
    expect(again).toEqual(list);
    expect(again.items[0]).not.toBe(unpackList(packed).items[0]);
  });

  it('keep an empty list and one without explanations', () => {
    const empty: RecommendationList = {
      ...list,
      experiment: null,
      variant: null,
      items: [],
      skippedEngines: [],
    };
    expect(unpackList(packList(empty))).toEqual(empty);
    const unexplained = {
      ...list,
      items: list.items.map((item) => ({ ...item, explanation: { text: '', movieIds: [] } })),
    };
    expect(unpackList(packList(unexplained))).toEqual(unexplained);
  });
});
