import { FullStack, startFullStack } from '../helpers/full-stack';
import { graphql } from '../helpers/api';

const WEIGHTS = `query ($weights: EngineWeightsInput) {
  hybridWeights(weights: $weights) {
    collaborative content statistical source validationNdcg10 defaultValidationNdcg10 validationScheme modelVersion note
  }
}`;

describe('hybridWeights under HYBRID_WEIGHTS=calibrated', () => {
  let stack: FullStack;

  beforeAll(async () => {
    stack = await startFullStack({ HYBRID_WEIGHTS: 'calibrated' });
  });

  afterAll(async () => {
    await stack.stop();
  });

  it('shows the weights the active version calibrated on its validation split, stored with the version', async () => {
    const [stored] = await stack.db.dataSource.query(
      `SELECT id, hybrid_weights FROM model_versions WHERE status = 'active'`,
    );
    expect(stored.hybrid_weights).not.toBeNull();
    const result = await graphql<any>(stack.api.url, WEIGHTS);
    expect(result.errors).toBeUndefined();
    const shown = result.data.hybridWeights;
    expect(shown).toMatchObject({
      source: 'CALIBRATED',
      modelVersion: stored.id,
      validationScheme: 'temporal',
      note: null,
      collaborative: stored.hybrid_weights.weights.collaborative,
      content: stored.hybrid_weights.weights.content,
      statistical: stored.hybrid_weights.weights.statistical,
    });
    expect(shown.collaborative + shown.content + shown.statistical).toBeCloseTo(1, 9);
    // The chosen triple is the best of a grid that contains the defaults.
    expect(shown.validationNdcg10).toBeGreaterThanOrEqual(shown.defaultValidationNdcg10);
  });

  it('shows how a request’s own weights are filled in and rescaled', async () => {
    const calibrated = (await graphql<any>(stack.api.url, WEIGHTS)).data.hybridWeights;
    const result = await graphql<any>(stack.api.url, WEIGHTS, { weights: { content: 0 } });
    const shown = result.data.hybridWeights;
    expect(shown.source).toBe('REQUEST');
    expect(shown.content).toBe(0);
    const rest = calibrated.collaborative + calibrated.statistical;
    if (rest > 0) expect(shown.collaborative).toBeCloseTo(calibrated.collaborative / rest, 9);
    const bad = await graphql<any>(stack.api.url, WEIGHTS, { weights: { content: -1 } });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
