import { FeedbackEvent, ndcgAt, ServedList, userOutcomes } from '../../src/experiments/outcomes';

const T = Date.UTC(2026, 0, 1);
const H = 3600_000;
const window = { since: T, until: T + 48 * H };

function list(
  listId: string,
  userId: number,
  variant: string,
  movieIds: number[],
  servedAt: number,
): ServedList {
  return { listId, userId, variant, movieIds, servedAt };
}
function event(
  userId: number,
  listId: string | null,
  movieId: number,
  type: FeedbackEvent['type'],
  occurredAt: number,
  value: number | null = null,
): FeedbackEvent {
  return { userId, listId, movieId, type, value, occurredAt };
}

describe('experiment outcomes', () => {
  it('scores NDCG@10 with binary relevance', () => {
    expect(ndcgAt([1, 2, 3], new Set([1]))).toBe(1);
    expect(ndcgAt([1, 2, 3], new Set([2]))).toBeCloseTo(1 / Math.log2(3), 12);
    // Two relevant, one shown at rank 3: (1/2) / (1 + 1/log2 3).
    expect(ndcgAt([5, 6, 7], new Set([7, 99]))).toBeCloseTo(0.5 / (1 + 1 / Math.log2(3)), 12);
    expect(ndcgAt([1, 2], new Set())).toBeNull();
    const long = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(ndcgAt(long, new Set([11]))).toBe(0);
  });

  it('counts each shown item once, clicks and watches by the documented rules', () => {
    const lists = [list('a', 1, 'control', [10, 11, 12], T), list('b', 2, 'b', [10, 20], T + H)];
    const events = [
      event(1, 'a', 10, 'IMPRESSION', T + 1),
      event(1, 'a', 10, 'IMPRESSION', T + 2), // a re-render: still one shown item
      event(1, 'a', 11, 'IMPRESSION', T + 3),
      event(1, 'a', 11, 'CLICK', T + 4),
      event(1, 'a', 11, 'WATCH', T + 5, 0.5), // not watched through
      event(1, 'a', 12, 'WATCH', T + 6, 0.95), // implies shown and clicked
      event(1, 'a', 99, 'CLICK', T + 7), // not in the list: ignored for CTR
      event(3, 'a', 10, 'CLICK', T + 8), // another user's event on this list: ignored
      event(2, 'b', 20, 'NOT_INTERESTED', T + H + 1), // shown, not clicked
      event(2, 'b', 10, 'WATCH', T + H + 2, null), // a watch without a fraction counts as watched through
      event(2, 'b', 10, 'CLICK', T + 49 * H), // after the window: ignored
    ];
    const outcomes = userOutcomes(lists, events, window);
    expect(outcomes).toEqual([
      {
        userId: 2,
        variant: 'b',
        lists: 1,
        shown: 2,
        clicked: 1,
        watched: 1,
        ndcgLists: 1,
        ndcgSum: 1,
        ndcgSumSq: 1,
      },
      {
        userId: 1,
        variant: 'control',
        lists: 1,
        shown: 3,
        clicked: 2,
        watched: 1,
        ndcgLists: 1,
        // Positives after serving: 11 (click), 12 (watched through), 99 (click) → relevant {11, 12, 99}.
        ndcgSum: expect.closeTo((1 / Math.log2(3) + 1 / 2) / (1 + 1 / Math.log2(3) + 1 / 2), 12),
        ndcgSumSq: expect.closeTo(((1 / Math.log2(3) + 1 / 2) / (1 + 1 / Math.log2(3) + 1 / 2)) ** 2, 12),
      },
    ]);
  });

  it('judges a list by positives after it was served, within the horizon and the window', () => {
    const lists = [
      list('early', 1, 'control', [1, 2], T),
      list('late', 1, 'control', [2, 1], T + 30 * H),
      list('outside', 1, 'control', [1, 2], T - H),
    ];
    const events = [
      event(1, null, 2, 'CLICK', T + 2 * H), // positive for 'early' only
      event(1, null, 1, 'WATCH', T + 31 * H, 0.9), // 'late' only: 31 h is past the early list's 24 h horizon
      event(1, null, 1, 'WATCH', T + 31 * H + 1, 0.1), // not positive
    ];
    const [outcome] = userOutcomes(lists, events, window);
    expect(outcome.lists).toBe(2);
    expect(outcome.shown).toBe(0);
    expect(outcome.ndcgLists).toBe(2);
    // early: relevant {2} at rank 2 → 1/log2 3; late: relevant {1} at rank 2 → 1/log2 3.
    expect(outcome.ndcgSum).toBeCloseTo(2 / Math.log2(3), 12);
  });

  it('leaves out lists with no later positive event', () => {
    const [outcome] = userOutcomes(
      [list('x', 5, 'v', [1], T)],
      [event(5, 'x', 1, 'IMPRESSION', T + 1)],
      window,
    );
    expect(outcome).toMatchObject({ lists: 1, shown: 1, clicked: 0, ndcgLists: 0, ndcgSum: 0 });
  });
});
