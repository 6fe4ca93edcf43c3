import { ActiveExperiment } from '../../src/experiments/active-experiment';
import { parseExperimentsCommand, parseVariantSpec, UsageError } from '../../src/experiments/cli-commands';
import { Experiment, validateExperiment } from '../../src/experiments/definition';
import { effectiveSettings } from '../../src/experiments/precedence';

const experiment = validateExperiment({
  name: 'serve',
  variants: [
    { name: 'control', strategy: 'HYBRID', share: 0.5 },
    { name: 'mix', strategy: 'HYBRID', share: 0.5, weights: { content: 0.8 }, diversity: 0.2 },
  ],
});

describe('serving an experiment', () => {
  it('applies the variant only when the request leaves strategy, weights and diversity open', () => {
    const assignment = {
      experiment: 'serve',
      variant: 'mix',
      strategy: 'HYBRID' as const,
      weights: { content: 0.8 },
      diversity: 0.2,
    };
    expect(effectiveSettings({}, assignment)).toEqual({
      strategy: 'HYBRID',
      weights: { content: 0.8 },
      diversity: 0.2,
      attribution: { experiment: 'serve', variant: 'mix' },
    });
    expect(
      effectiveSettings({ strategy: null, weights: null, diversity: null }, assignment).attribution,
    ).not.toBeNull();
    for (const requested of [
      { strategy: 'CONTENT' as const },
      { weights: { statistical: 1 } },
      { diversity: 0 },
    ]) {
      const settings = effectiveSettings(requested, assignment);
      expect(settings.attribution).toBeNull();
      expect(settings.strategy).toBe(requested.strategy ?? 'HYBRID');
      expect(settings.diversity).toBe(requested.diversity ?? 0);
    }
    expect(effectiveSettings({}, null)).toEqual({
      strategy: 'HYBRID',
      weights: undefined,
      diversity: 0,
      attribution: null,
    });
  });

  it('holds the active experiment in memory and re-reads it once the interval has passed', async () => {
    let now = 0;
    let reads = 0;
    let stored: Experiment | null = experiment;
    const active = new ActiveExperiment({ active: async () => (reads++, stored) }, 10_000, () => now);
    expect((await active.assign(7))?.experiment).toBe('serve');
    expect(reads).toBe(1);
    for (let user = 1; user <= 50; user++) await active.assign(user);
    expect(reads).toBe(1);
    stored = null;
    now = 9_999;
    expect(await active.assign(7)).not.toBeNull();
    now = 10_000;
    // Past the interval the old value answers while the new one is read behind it.
    expect(await active.assign(7)).not.toBeNull();
    expect(reads).toBe(2);
    await active.refresh();
    expect(await active.assign(7)).toBeNull();
  });

  it('keeps the last known experiment when a re-read fails', async () => {
    let now = 0;
    let fail = false;
    const errors: unknown[] = [];
    const active = new ActiveExperiment(
      {
        active: async () => {
          if (fail) throw new Error('database gone');
          return experiment;
        },
      },
      1000,
      () => now,
      (error) => errors.push(error),
    );
    expect(await active.current()).toBe(experiment);
    fail = true;
    now = 5000;
    await active.refresh();
    expect(await active.current()).toBe(experiment);
    expect(errors).toHaveLength(1);
  });

  it('parses the CLI syntax, refusing what it does not understand', () => {
    expect(
      parseVariantSpec('mix:strategy=hybrid:share=0.25:content=0.6:collaborative=0.4:diversity=0.2'),
    ).toEqual({
      name: 'mix',
      strategy: 'HYBRID',
      share: 0.25,
      weights: { content: 0.6, collaborative: 0.4 },
      diversity: 0.2,
    });
    expect(() => parseVariantSpec('b:strategy=HYBRID')).toThrow(UsageError);
    expect(() => parseVariantSpec('b:strategy=HYBRID:share=')).toThrow(UsageError);
    expect(() => parseVariantSpec('b:strategy=HYBRID:share=0.5:colour=red')).toThrow(UsageError);
    expect(() => parseVariantSpec('b:strategy=HYBRID:share=0.5:share=0.5')).toThrow(UsageError);
    expect(
      parseExperimentsCommand(['--', 'report', '--name', 'x', '--since', '2026-12-01T00:00:00Z']),
    ).toEqual({
      name: 'report',
      experiment: 'x',
      since: new Date('2026-12-01T00:00:00Z'),
      until: null,
      json: false,
    });
    expect(() => parseExperimentsCommand(['report', '--name', 'x', '--since', 'yesterday'])).toThrow(
      UsageError,
    );
    expect(() => parseExperimentsCommand(['stop', '--name', 'x', '--json'])).toThrow(UsageError);
    expect(() => parseExperimentsCommand(['start'])).toThrow(UsageError);
  });
});
