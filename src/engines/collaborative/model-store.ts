import { DataSource, EntityManager } from 'typeorm';
import { float32Text } from '../../db/float32-text';
import type { BiasedMfParameters, PureSvdModel, RatingEncoding } from './kernels';

/** Everything serving needs from a trained pair of models (biased MF + PureSVD top-N). */
export interface StoredModels {
  biased: BiasedMfParameters & {
    userIds: Int32Array;
    itemIds: Int32Array;
    ratingScale: { min: number; max: number };
    regBias: number;
    regFactor: number;
    regExponent: number;
    /** Training re-fit user biases with recency weights of this half-life; fold-in must do the same. 0 = off. */
    recencyHalfLifeDays?: number;
  };
  topN: PureSvdModel & { itemIds: Int32Array };
  hyperparameters: unknown;
  metrics: unknown;
  /** Hybrid weights calibrated at training time on a validation split; null when not calibrated. */
  hybridWeights?: StoredHybridWeights | null;
}

/** The weights HYBRID uses under HYBRID_WEIGHTS=calibrated, as chosen when the version was trained. */
export interface StoredHybridWeights {
  weights: { collaborative: number; content: number; statistical: number };
  /** NDCG@10 of the hybrid with these weights on the validation split. */
  validationNdcg10: number;
  /** NDCG@10 of the specified default weights on the same split. */
  defaultValidationNdcg10: number;
  scheme: 'temporal' | 'random';
  validationUsers: number;
}

export interface ActiveModel extends StoredModels {
  versionId: number;
  activatedAt: Date;
}

export interface ModelVersionInfo {
  id: number;
  status: 'ready' | 'active' | 'retired';
  createdAt: Date;
  activatedAt: Date | null;
  metrics: unknown;
}

interface VersionParams {
  mu: number;
  k: number;
  rank: number;
  encoding: RatingEncoding;
  ratingScale: { min: number; max: number };
  regBias: number;
  regFactor: number;
  regExponent: number;
  recencyHalfLifeDays?: number;
}

/** How many versions survive activation: the active one and one to roll back to. */
export const KEPT_VERSIONS = 2;
const ROWS_PER_STATEMENT = 2000;

function arrayLiteral(values: ArrayLike<number>, from: number, length: number): string {
  return `{${float32Text(values, from, length)}}`;
}

/** Model versions and their factors in Postgres (`real[]`), written whole and activated atomically. */
export class ModelStore {
  constructor(private readonly db: DataSource) {}

  /**
   * Writes a new version in one transaction (nothing is visible if it fails half-way) and returns
   * its id; it is not served until activate().
   */
  async save(models: StoredModels): Promise<number> {
    const { biased, topN } = models;
    if (
      biased.itemIds.length !== topN.itemIds.length ||
      biased.itemIds.some((id, i) => id !== topN.itemIds[i])
    )
      throw new Error('the rating and top-N models must share one item order');
    const params: VersionParams = {
      mu: biased.mu,
      k: biased.k,
      rank: topN.rank,
      encoding: topN.encoding,
      ratingScale: biased.ratingScale,
      regBias: biased.regBias,
      regFactor: biased.regFactor,
      regExponent: biased.regExponent,
      recencyHalfLifeDays: biased.recencyHalfLifeDays ?? 0,
    };
    return this.db.transaction(async (tx) => {
      const [version]: { id: number }[] = await tx.query(
        `INSERT INTO model_versions (status, hyperparameters, metrics, params, hybrid_weights)
         VALUES ('ready', $1, $2, $3, $4) RETURNING id`,
        [
          JSON.stringify(models.hyperparameters ?? {}),
          JSON.stringify(models.metrics ?? {}),
          JSON.stringify(params),
          models.hybridWeights ? JSON.stringify(models.hybridWeights) : null,
        ],
      );
      await this.insertItems(tx, version.id, models);
      await this.insertUsers(tx, version.id, models);
      return version.id;
    });
  }

  private async insertItems(
    tx: EntityManager,
    versionId: number,
    { biased, topN }: StoredModels,
  ): Promise<void> {
    for (let start = 0; start < biased.itemIds.length; start += ROWS_PER_STATEMENT) {
      const end = Math.min(biased.itemIds.length, start + ROWS_PER_STATEMENT);
      const ids: number[] = [];
      const biases: number[] = [];
      const factors: string[] = [];
      const topNFactors: string[] = [];
      for (let i = start; i < end; i++) {
        ids.push(biased.itemIds[i]);
        biases.push(biased.itemBias[i]);
        factors.push(arrayLiteral(biased.itemFactors, i * biased.k, biased.k));
        topNFactors.push(arrayLiteral(topN.itemFactors, i * topN.rank, topN.rank));
      }
      await tx.query(
        `INSERT INTO model_item_factors (model_id, movie_id, bias, factors, topn_factors)
         SELECT $1, movie_id, bias, factors::real[], topn::real[]
           FROM unnest($2::int[], $3::real[], $4::text[], $5::text[]) AS t(movie_id, bias, factors, topn)`,
        [versionId, ids, biases, factors, topNFactors],
      );
    }
  }

  private async insertUsers(tx: EntityManager, versionId: number, { biased }: StoredModels): Promise<void> {
    for (let start = 0; start < biased.userIds.length; start += ROWS_PER_STATEMENT) {
      const end = Math.min(biased.userIds.length, start + ROWS_PER_STATEMENT);
      const ids: number[] = [];
      const biases: number[] = [];
      const factors: string[] = [];
      for (let u = start; u < end; u++) {
        ids.push(biased.userIds[u]);
        biases.push(biased.userBias[u]);
        factors.push(arrayLiteral(biased.userFactors, u * biased.k, biased.k));
      }
      await tx.query(
        `INSERT INTO model_user_factors (model_id, user_id, bias, factors)
         SELECT $1, user_id, bias, factors::real[] FROM unnest($2::int[], $3::real[], $4::text[]) AS t(user_id, bias, factors)`,
        [versionId, ids, biases, factors],
      );
    }
  }

  /** Makes `versionId` the served model in one transaction and prunes all but the newest versions. */
  async activate(versionId: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const found: unknown[] = await tx.query(`SELECT 1 FROM model_versions WHERE id = $1 FOR UPDATE`, [
        versionId,
      ]);
      if (found.length === 0) throw new Error(`no model version ${versionId}`);
      await tx.query(`UPDATE model_versions SET status = 'retired' WHERE status = 'active' AND id <> $1`, [
        versionId,
      ]);
      await tx.query(`UPDATE model_versions SET status = 'active', activated_at = now() WHERE id = $1`, [
        versionId,
      ]);
      await tx.query(
        `DELETE FROM model_versions WHERE status <> 'active'
           AND id NOT IN (SELECT id FROM model_versions ORDER BY id DESC LIMIT $1)`,
        [KEPT_VERSIONS],
      );
    });
  }

  async versions(): Promise<ModelVersionInfo[]> {
    const rows: {
      id: number;
      status: ModelVersionInfo['status'];
      created_at: Date;
      activated_at: Date | null;
      metrics: unknown;
    }[] = await this.db.query(
      `SELECT id, status, created_at, activated_at, metrics FROM model_versions ORDER BY id`,
    );
    return rows.map((r) => ({
      id: r.id,
      status: r.status,
      createdAt: r.created_at,
      activatedAt: r.activated_at,
      metrics: r.metrics,
    }));
  }

  async activeVersionId(): Promise<number | null> {
    const rows: { id: number }[] = await this.db.query(
      `SELECT id FROM model_versions WHERE status = 'active'`,
    );
    return rows[0]?.id ?? null;
  }

  /** The active model with all its factors, as typed arrays; null when none was ever activated. */
  async loadActive(): Promise<ActiveModel | null> {
    const versions: {
      id: number;
      activated_at: Date;
      params: VersionParams;
      hyperparameters: unknown;
      metrics: unknown;
      hybrid_weights: StoredHybridWeights | null;
    }[] = await this.db.query(
      `SELECT id, activated_at, params, hyperparameters, metrics, hybrid_weights
         FROM model_versions WHERE status = 'active'`,
    );
    if (versions.length === 0) return null;
    const version = versions[0];
    const { k, rank } = version.params;
    const items: { movie_id: number; bias: number; factors: number[]; topn_factors: number[] }[] =
      await this.db.query(
        `SELECT movie_id, bias, factors, topn_factors FROM model_item_factors WHERE model_id = $1 ORDER BY movie_id`,
        [version.id],
      );
    const users: { user_id: number; bias: number; factors: number[] }[] = await this.db.query(
      `SELECT user_id, bias, factors FROM model_user_factors WHERE model_id = $1 ORDER BY user_id`,
      [version.id],
    );
    const itemIds = Int32Array.from(items, (r) => r.movie_id);
    const itemBias = Float64Array.from(items, (r) => r.bias);
    const itemFactors = new Float32Array(items.length * k);
    const topNFactors = new Float32Array(items.length * rank);
    items.forEach((r, i) => {
      itemFactors.set(r.factors, i * k);
      topNFactors.set(r.topn_factors, i * rank);
    });
    const userIds = Int32Array.from(users, (r) => r.user_id);
    const userBias = Float64Array.from(users, (r) => r.bias);
    const userFactors = new Float32Array(users.length * k);
    users.forEach((r, u) => userFactors.set(r.factors, u * k));
    return {
      versionId: version.id,
      activatedAt: version.activated_at,
      hyperparameters: version.hyperparameters,
      metrics: version.metrics,
      hybridWeights: version.hybrid_weights,
      biased: {
        k,
        mu: version.params.mu,
        userBias,
        itemBias,
        userFactors,
        itemFactors,
        userIds,
        itemIds,
        ratingScale: version.params.ratingScale,
        regBias: version.params.regBias,
        regFactor: version.params.regFactor,
        regExponent: version.params.regExponent,
        recencyHalfLifeDays: version.params.recencyHalfLifeDays ?? 0,
      },
      topN: { rank, encoding: version.params.encoding, itemFactors: topNFactors, itemIds },
    };
  }

  /** Stores a user's folded-in factors for the given version (new users, or users who rated again). */
  async saveUserFactors(
    versionId: number,
    userId: number,
    bias: number,
    factors: ArrayLike<number>,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO model_user_factors (model_id, user_id, bias, factors, folded_in_at)
       VALUES ($1, $2, $3, $4::real[], now())
       ON CONFLICT (model_id, user_id) DO UPDATE
         SET bias = EXCLUDED.bias, factors = EXCLUDED.factors, folded_in_at = EXCLUDED.folded_in_at`,
      [versionId, userId, bias, arrayLiteral(factors, 0, factors.length)],
    );
  }
}
