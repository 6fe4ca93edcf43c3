import { fitBaseline } from '../../training/baseline';

describe('ALS baseline', () => {
  // Ratings (user, item, rating): (0, 0, 5), (0, 1, 3), (1, 0, 4); μ = 4.
  const triples = {
    users: Int32Array.from([0, 0, 1]),
    items: Int32Array.from([0, 1, 0]),
    ratings: Float32Array.from([5, 3, 4]),
  };

  it('solves item biases, then user biases, each regularised by its own λ', () => {
    const model = fitBaseline(triples, 3, 3, { regUser: 2, regItem: 1, epochs: 1 });
    expect(model.mu).toBeCloseTo(4, 12);
    // b_i0 = (1 + 0) / (1 + 2), b_i1 = −1 / (1 + 1)
    expect(model.itemBias[0]).toBeCloseTo(1 / 3, 12);
    expect(model.itemBias[1]).toBeCloseTo(-0.5, 12);
    // b_u0 = ((5 − 4 − 1/3) + (3 − 4 + 0.5)) / (2 + 2), b_u1 = (4 − 4 − 1/3) / (2 + 1)
    expect(model.userBias[0]).toBeCloseTo((2 / 3 - 0.5) / 4, 12);
    expect(model.userBias[1]).toBeCloseTo(-1 / 9, 12);
    // Indices without ratings keep a zero bias: their prediction falls back to μ (+ the other bias).
    expect(model.userBias[2]).toBe(0);
    expect(model.itemBias[2]).toBe(0);
  });

  it('fits the ratings exactly without regularisation when they are additive', () => {
    // r = 3 + u + i for u, i ∈ {0, 1, 2}: all nine cells.
    const users: number[] = [];
    const items: number[] = [];
    const ratings: number[] = [];
    for (let u = 0; u < 3; u++) {
      for (let i = 0; i < 3; i++) {
        users.push(u);
        items.push(i);
        ratings.push(3 + u + i);
      }
    }
    const model = fitBaseline(
      { users: Int32Array.from(users), items: Int32Array.from(items), ratings: Float32Array.from(ratings) },
      3,
      3,
      { regUser: 0, regItem: 0, epochs: 5 },
    );
    for (let n = 0; n < ratings.length; n++) {
      expect(model.mu + model.userBias[users[n]] + model.itemBias[items[n]]).toBeCloseTo(ratings[n], 10);
    }
  });
});
