import {
  describeJobs,
  describeTopN,
  describeTraining,
  enginesState,
  firstModelState,
  type JobRunRow,
  type ServerHealth,
} from '../../scripts/bench-scale-jobs';
import { CONTENT_INDEX_JOB, TRAINING_JOB, type JobStatus } from '../../src/worker';

const job = (name: string, status: Partial<JobStatus>): JobStatus => ({
  job: name,
  state: 'idle',
  runs: 0,
  failures: 0,
  ...status,
});

const training = (status: Partial<JobStatus>, extra: Partial<ServerHealth> = {}): ServerHealth => ({
  engines: {
    collaborative: { ready: false, reason: 'training the first model' },
    statistical: { ready: true },
  },
  jobs: [job(TRAINING_JOB, status), job(CONTENT_INDEX_JOB, { state: 'running', progress: 0.5 })],
  model: null,
  ...extra,
});

const run = (row: Partial<JobRunRow>): JobRunRow => ({ outcome: null, progress: 0, detail: {}, ...row });

describe('bench-scale: the first model', () => {
  it('waits while the training runs, however long, and is done once /health names a model version', () => {
    expect(
      firstModelState(training({ state: 'running', progress: 0.4 }), run({ progress: 0.4 }), null),
    ).toEqual({
      state: 'waiting',
    });
    // Trained and recorded, not loaded yet: still waiting (the server loads the version next).
    expect(firstModelState(training({ state: 'idle' }), run({ outcome: 'succeeded' }), null)).toEqual({
      state: 'waiting',
    });
    expect(
      firstModelState(
        training({ state: 'idle' }, { model: { versionId: 3 } }),
        run({ outcome: 'succeeded' }),
        null,
      ),
    ).toEqual({ state: 'done' });
  });

  it('fails on a failed first run even when /health already shows the retry running', () => {
    expect(
      firstModelState(
        training({ state: 'running', progress: 0.1 }),
        run({ outcome: 'failed', detail: { error: 'JavaScript heap out of memory', seconds: 80 } }),
        null,
      ),
    ).toEqual({ state: 'failed', reason: 'the first training failed: JavaScript heap out of memory' });
  });

  it('fails when the job says it failed before its run row is read, when the server exited, or when nothing trains', () => {
    expect(firstModelState(training({ state: 'failed', lastError: 'ended by SIGKILL' }), null, null)).toEqual(
      {
        state: 'failed',
        reason: 'training failed: ended by SIGKILL',
      },
    );
    expect(firstModelState(null, null, 'code 1')).toEqual({
      state: 'failed',
      reason: 'the server exited (code 1) before serving a model',
    });
    expect(
      firstModelState({ engines: {}, jobs: [job(CONTENT_INDEX_JOB, {})], model: null }, null, null),
    ).toMatchObject({
      state: 'failed',
    });
    // Not listening yet: no answer is a reason to wait, not to fail.
    expect(firstModelState(null, null, null)).toEqual({ state: 'waiting' });
  });
});

describe('bench-scale: every engine', () => {
  it('is done when every engine is ready, waits while one builds, fails on a failed index build', () => {
    const building = training({ state: 'idle' }, { model: { versionId: 1 } });
    building.engines = {
      collaborative: { ready: true },
      content: { ready: false, reason: 'index building: 50%' },
    };
    expect(enginesState(building, run({ progress: 0.5 }), null)).toEqual({ state: 'waiting' });
    expect(enginesState(building, run({ outcome: 'abandoned' }), null)).toEqual({
      state: 'failed',
      reason: 'the content index build abandoned',
    });
    expect(enginesState(building, null, 'SIGKILL')).toMatchObject({ state: 'failed' });
    building.engines.content = { ready: true };
    expect(enginesState(building, run({ outcome: 'succeeded' }), null)).toEqual({ state: 'done' });
  });

  it('waits for the in-process search index when searches are configured to run there', () => {
    const ready = training({ state: 'idle' }, { model: { versionId: 1 } });
    ready.engines = { collaborative: { ready: true }, content: { ready: true } };
    ready.contentSearch = { answeredBy: 'postgres', configured: 'memory', building: true };
    expect(enginesState(ready, run({ outcome: 'succeeded' }), null)).toEqual({ state: 'waiting' });
    expect(describeJobs(ready)).toContain(
      'content searches answered by postgres, in-process index or its neighbour table building',
    );
    ready.contentSearch = { answeredBy: 'memory', configured: 'memory', building: true };
    expect(enginesState(ready, run({ outcome: 'succeeded' }), null)).toEqual({ state: 'waiting' });
    ready.contentSearch = { answeredBy: 'memory', configured: 'memory', building: false };
    expect(enginesState(ready, run({ outcome: 'succeeded' }), null)).toEqual({ state: 'done' });
    ready.contentSearch = { answeredBy: 'postgres', configured: 'postgres', building: false };
    expect(enginesState(ready, run({ outcome: 'succeeded' }), null)).toEqual({ state: 'done' });
  });
});

describe('bench-scale: what it prints', () => {
  it('says what each job does and how far it is', () => {
    const line = describeJobs(training({ state: 'running', progress: 0.425, trigger: 'first model' }));
    expect(line).toContain('training running 43% (first model)');
    expect(line).toContain('content-index running 50%');
    expect(line).toContain('no model served');
    expect(line).toContain('collaborative: training the first model');
    expect(describeJobs(null)).toBe('no answer from /health');
  });

  it('shows the first training as seconds and peak RSS, or as the failure it was', () => {
    expect(
      describeTraining(
        run({
          outcome: 'succeeded',
          detail: { versionId: 1, ratings: 1e6, seconds: 252.517, maxRssBytes: 603074560 },
        }),
      ),
    ).toBe('252.5 s, peak RSS 575 MiB');
    expect(describeTraining(run({ outcome: 'succeeded', detail: { seconds: 3 } }))).toBe(
      '3.0 s, peak RSS not reported',
    );
    expect(
      describeTraining(run({ outcome: 'failed', detail: { seconds: 80.04, error: 'out of memory' } })),
    ).toBe('failed after 80.0 s: out of memory');
    expect(describeTraining(null)).toBe('no training run recorded');
  });
});

describe('bench-scale: the top-N model a size served', () => {
  it('names the kind and the validation figures that chose it, best first', () => {
    expect(
      describeTopN({
        topn_kind: 'ease',
        selection: { split: 'temporal', validationNdcg10: { puresvd: 0.016851777, ease: 0.016858671 } },
      }),
    ).toBe('ease (validation NDCG@10, temporal split: ease 0.01686, puresvd 0.01685)');
    expect(describeTopN({ topn_kind: 'puresvd', selection: null })).toBe('puresvd (no validation recorded)');
    expect(describeTopN(undefined)).toBe('no active version');
  });
});
