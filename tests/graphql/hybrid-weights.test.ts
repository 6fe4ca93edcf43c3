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
    // Zero an engine other than the calibration's favourite, so the rest keeps some weight.
    const engines = ['collaborative', 'content', 'statistical'] as const;
    const favourite = engines.reduce((best, name) => (calibrated[name] > calibrated[best] ? name : best));
    const zeroed = engines.find((name) => name !== favourite) as (typeof engines)[number];
    const result = await graphql<any>(stack.api.url, WEIGHTS, { weights: { [zeroed]: 0 } });
    expect(result.errors).toBeUndefined();
    const shown = result.data.hybridWeights;
    expect(shown.source).toBe('REQUEST');
    expect(shown[zeroed]).toBe(0);
    const rest = engines.reduce((sum, name) => sum + (name === zeroed ? 0 : calibrated[name]), 0);
    for (const name of engines)
      if (name !== zeroed) expect(shown[name]).toBeCloseTo(calibrated[name] / rest, 9);
    const bad = await graphql<any>(stack.api.url, WEIGHTS, { weights: { content: -1 } });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
