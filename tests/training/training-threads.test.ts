import os from 'node:os';
import { ConfigError, loadConfig } from '../../src/config';
import { DEFAULT_TRAIN_OPTIONS, serverTrainOptions } from '../../training/train';

describe('TRAINING_THREADS', () => {
  it('is auto unless set to a whole number from 1', () => {
    expect(loadConfig({}).trainingThreads).toBe('auto');
    expect(loadConfig({ TRAINING_THREADS: 'auto' }).trainingThreads).toBe('auto');
    expect(loadConfig({ TRAINING_THREADS: '3' }).trainingThreads).toBe(3);
    expect(() => loadConfig({ TRAINING_THREADS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRAINING_THREADS: 'two' })).toThrow(/TRAINING_THREADS must be a whole number/);
  });

  it('sets only the rating model’s SGD threads; auto is one per core (the strata follow the data)', () => {
    expect(DEFAULT_TRAIN_OPTIONS.biased.strata).toBe('auto');
    const auto = serverTrainOptions('auto');
    expect(auto.biased.threads).toBe(os.availableParallelism());
    expect({ ...auto, biased: { ...auto.biased, threads: 1 } }).toEqual(DEFAULT_TRAIN_OPTIONS);
    expect(serverTrainOptions(1).biased.threads).toBe(1);
    expect(serverTrainOptions(4).biased.threads).toBe(4);
  });
});
