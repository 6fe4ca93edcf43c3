import { ExperimentError, ExperimentInput, validateExperiment } from '../../src/experiments/definition';

const base: ExperimentInput = {
  name: 'ranker-2026-01',
  variants: [
    { name: 'control', strategy: 'HYBRID', share: 0.5 },
    { name: 'cf', strategy: 'COLLABORATIVE', share: 0.5 },
  ],
};

function reasonOf(input: ExperimentInput): string {
  try {
    validateExperiment(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ExperimentError);
    const e = error as ExperimentError;
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.extensions).toEqual({ reason: e.reason });
    return e.reason;
  }
  return 'valid';
}

describe('experiment definitions', () => {
  it('accepts a valid definition, starting it active with the first variant as control', () => {
    const experiment = validateExperiment({
      ...base,
      variants: [
        { name: 'control', strategy: 'HYBRID', share: 0.34 },
        { name: 'cf', strategy: 'COLLABORATIVE', share: 0.33 },
        {
          name: 'mix',
          strategy: 'HYBRID',
          share: 0.33,
          weights: { content: 0.7, statistical: null },
          diversity: 0.3,
        },
      ],
    });
    expect(experiment).toEqual({
      name: 'ranker-2026-01',
      status: 'active',
      control: 'control',
      variants: [
        { name: 'control', strategy: 'HYBRID', share: 0.34, weights: null, diversity: null },
        { name: 'cf', strategy: 'COLLABORATIVE', share: 0.33, weights: null, diversity: null },
        { name: 'mix', strategy: 'HYBRID', share: 0.33, weights: { content: 0.7 }, diversity: 0.3 },
      ],
    });
    expect(validateExperiment({ ...base, control: 'cf' }).control).toBe('cf');
  });

  it('accepts an A/A test: every variant identical', () => {
    const aa = validateExperiment({
      name: 'aa',
      variants: [
        { name: 'a1', strategy: 'HYBRID', share: 0.5 },
        { name: 'a2', strategy: 'HYBRID', share: 0.5 },
      ],
    });
    expect(aa.variants.map((v) => v.name)).toEqual(['a1', 'a2']);
  });

  it.each<[string, ExperimentInput]>([
    ['INVALID_NAME', { ...base, name: '' }],
    ['INVALID_NAME', { ...base, name: 'has space' }],
    ['INVALID_NAME', { ...base, name: 'x'.repeat(65) }],
    ['INVALID_NAME', { ...base, variants: [{ ...base.variants[0], name: '-x' }, base.variants[1]] }],
    ['TOO_FEW_VARIANTS', { ...base, variants: [{ name: 'control', strategy: 'HYBRID', share: 1 }] }],
    [
      'TOO_MANY_VARIANTS',
      {
        ...base,
        variants: Array.from({ length: 11 }, (_, i) => ({
          name: `v${i}`,
          strategy: 'HYBRID',
          share: 1 / 11,
          diversity: i / 10,
        })),
      },
    ],
    [
      'DUPLICATE_VARIANT',
      { ...base, variants: [base.variants[0], { ...base.variants[1], name: 'control' }] },
    ],
    [
      'INVALID_STRATEGY',
      { ...base, variants: [base.variants[0], { ...base.variants[1], strategy: 'hybrid' }] },
    ],
    [
      'INVALID_SHARE',
      {
        ...base,
        variants: [
          { ...base.variants[0], share: 0 },
          { ...base.variants[1], share: 1 },
        ],
      },
    ],
    ['INVALID_SHARE', { ...base, variants: [{ ...base.variants[0], share: Number.NaN }, base.variants[1]] }],
    [
      'SHARES_DO_NOT_SUM_TO_ONE',
      { ...base, variants: [base.variants[0], { ...base.variants[1], share: 0.4 }] },
    ],
    [
      'INVALID_WEIGHTS',
      { ...base, variants: [base.variants[0], { ...base.variants[1], weights: { content: 1 } }] },
    ],
    [
      'INVALID_WEIGHTS',
      {
        ...base,
        variants: [base.variants[0], { ...base.variants[1], strategy: 'HYBRID', weights: { popularity: 1 } }],
      },
    ],
    [
      'INVALID_WEIGHTS',
      {
        ...base,
        variants: [base.variants[0], { ...base.variants[1], strategy: 'HYBRID', weights: { content: -1 } }],
      },
    ],
    ['INVALID_DIVERSITY', { ...base, variants: [base.variants[0], { ...base.variants[1], diversity: 1.5 }] }],
    ['UNKNOWN_CONTROL', { ...base, control: 'treatment' }],
    [
      'IDENTICAL_VARIANTS',
      {
        ...base,
        variants: [
          { name: 'a', strategy: 'HYBRID', share: 0.4 },
          { name: 'b', strategy: 'HYBRID', share: 0.3 },
          { name: 'c', strategy: 'CONTENT', share: 0.3 },
        ],
      },
    ],
  ])('refuses %s', (reason, input) => {
    expect(reasonOf(input)).toBe(reason);
  });
});
