import { DataSource } from 'typeorm';
import { errorCode } from '../db/errors';
import { Strategy } from '../orchestrator/orchestrator';
import { checkName, Experiment, ExperimentError, ExperimentStatus, Variant } from './definition';

export interface StoredExperiment extends Experiment {
  createdAt: Date;
  stoppedAt: Date | null;
}

interface ExperimentRow {
  name: string;
  status: ExperimentStatus;
  control: string;
  created_at: Date;
  stopped_at: Date | null;
}

interface VariantRow {
  experiment: string;
  name: string;
  strategy: Strategy;
  share: number;
  weight_collaborative: number | null;
  weight_content: number | null;
  weight_statistical: number | null;
  diversity: number | null;
}

function variantOf(row: VariantRow): Variant {
  const weights: Variant['weights'] = {};
  if (row.weight_collaborative !== null) weights.collaborative = row.weight_collaborative;
  if (row.weight_content !== null) weights.content = row.weight_content;
  if (row.weight_statistical !== null) weights.statistical = row.weight_statistical;
  return {
    name: row.name,
    strategy: row.strategy,
    share: row.share,
    weights: Object.keys(weights).length > 0 ? weights : null,
    diversity: row.diversity,
  };
}

/** Experiments in PostgreSQL (experiments, experiment_variants); definitions are validated before they get here. */
export class ExperimentStore {
  constructor(private readonly db: DataSource) {}

  /** Stores a validated, active experiment; refuses a taken name or a second active experiment. */
  async create(experiment: Experiment): Promise<StoredExperiment> {
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(`INSERT INTO experiments (name, status, control) VALUES ($1, 'active', $2)`, [
          experiment.name,
          experiment.control,
        ]);
        const v = experiment.variants;
        await tx.query(
          `INSERT INTO experiment_variants
             (experiment, position, name, strategy, share, weight_collaborative, weight_content, weight_statistical, diversity)
           SELECT $1, position - 1, name, strategy, share, wc, wn, ws, diversity
             FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
               WITH ORDINALITY AS v(name, strategy, share, wc, wn, ws, diversity, position)`,
          [
            experiment.name,
            v.map((x) => x.name),
            v.map((x) => x.strategy),
            v.map((x) => x.share),
            v.map((x) => x.weights?.collaborative ?? null),
            v.map((x) => x.weights?.content ?? null),
            v.map((x) => x.weights?.statistical ?? null),
            v.map((x) => x.diversity),
          ],
        );
      });
    } catch (error) {
      if (errorCode(error) !== '23505') throw error;
      if (violatedConstraint(error) === 'experiments_one_active_idx') {
        const active = await this.active();
        throw new ExperimentError(
          'ANOTHER_EXPERIMENT_ACTIVE',
          `experiment ${active?.name ?? '(another)'} is active: stop it first (one experiment at a time, each variant fixes the whole list)`,
        );
      }
      throw new ExperimentError('EXPERIMENT_EXISTS', `an experiment named ${experiment.name} exists already`);
    }
    return (await this.get(experiment.name))!;
  }

  /** Newest first. */
  async list(): Promise<StoredExperiment[]> {
    return this.read(`SELECT * FROM experiments ORDER BY created_at DESC, name`, []);
  }

  async get(name: string): Promise<StoredExperiment | null> {
    const [found] = await this.read(`SELECT * FROM experiments WHERE name = $1`, [name]);
    return found ?? null;
  }

  /** The active experiment, if any (at most one: a unique index says so). */
  async active(): Promise<StoredExperiment | null> {
    const [found] = await this.read(`SELECT * FROM experiments WHERE status = 'active'`, []);
    return found ?? null;
  }

  /** Stops an experiment for good: its users get the default lists again, its report stays. */
  async stop(name: string): Promise<StoredExperiment> {
    checkName(name, 'experiment');
    await this.db.query(
      `UPDATE experiments SET status = 'stopped', stopped_at = now() WHERE name = $1 AND status = 'active'`,
      [name],
    );
    const stopped = await this.get(name);
    if (!stopped) throw new ExperimentError('EXPERIMENT_NOT_FOUND', `no experiment named ${name}`);
    return stopped;
  }

  private async read(sql: string, params: unknown[]): Promise<StoredExperiment[]> {
    const rows = (await this.db.query(sql, params)) as ExperimentRow[];
    if (rows.length === 0) return [];
    const variants = (await this.db.query(
      `SELECT * FROM experiment_variants WHERE experiment = ANY($1::text[]) ORDER BY experiment, position`,
      [rows.map((r) => r.name)],
    )) as VariantRow[];
    return rows.map((row) => ({
      name: row.name,
      status: row.status,
      control: row.control,
      createdAt: row.created_at,
      stoppedAt: row.stopped_at,
      variants: variants.filter((v) => v.experiment === row.name).map(variantOf),
    }));
  }
}

/** The constraint a unique violation names (pg's error, possibly wrapped by TypeORM as driverError). */
function violatedConstraint(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const link = current as { constraint?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof link.constraint === 'string') return link.constraint;
    current = link.driverError ?? link.cause;
  }
  return null;
}
