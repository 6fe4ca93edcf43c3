import { DataSource } from 'typeorm';
import { float32Text } from '../../db/float32-text';
import { hasFactorBlocks, readFactorPartFast, writeFactorBlocks, type FactorArray } from './factor-blocks';
import type { BiasedMfParameters, IalsParameters, RatingEncoding, TopNKind, TopNModel } from './kernels';

/** Everything serving needs from a trained pair of models (biased MF + a PureSVD, iALS or EASE top-N model). */
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
  topN: TopNModel & { itemIds: Int32Array };
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
  /** PureSVD's encoding (also written for iALS versions, where nothing reads it). */
  encoding: RatingEncoding;
  /** iALS versions only: what its fold-in needs besides the item factors. */
  ials?: IalsParameters;
  /** EASE versions only (its columns and weights are the blocks ease_columns and ease_weights). */
  ease?: { lambda: number };
  ratingScale: { min: number; max: number };
  regBias: number;
  regFactor: number;
  regExponent: number;
  recencyHalfLifeDays?: number;
}

function storedTopN(
  versionId: number,
  kind: TopNKind,
  params: VersionParams,
  itemFactors: Float32Array,
  itemIds: Int32Array,
  ease: { columns: Int32Array; weights: Float32Array } | null,
): StoredModels['topN'] {
  if (kind === 'ease') {
    if (!ease || !params.ease)
      throw new Error(`model version ${versionId} serves EASE but stores no EASE matrix`);
    if (ease.weights.length !== ease.columns.length ** 2)
      throw new Error(
        `model version ${versionId}: EASE weights do not match its ${ease.columns.length} columns`,
      );
    return {
      kind,
      encoding: params.encoding,
      lambda: params.ease.lambda,
      columns: ease.columns,
      weights: ease.weights,
      numItems: itemIds.length,
      itemIds,
    };
  }
  if (kind === 'puresvd') return { kind, rank: params.rank, encoding: params.encoding, itemFactors, itemIds };
  if (!params.ials) throw new Error(`model version ${versionId} serves iALS but stores no iALS parameters`);
  return {
    kind,
    rank: params.rank,
    ...params.ials,
    recencyHalfLifeDays: params.ials.recencyHalfLifeDays ?? 0,
    itemFactors,
    itemIds,
  };
}

interface FactorArrays {
  itemIds: Int32Array;
  itemBias: Float64Array;
  itemFactors: Float32Array;
  topNFactors: Float32Array;
  userIds: Int32Array;
  userBias: Float64Array;
  userFactors: Float32Array;
}

/** Ids are stored sorted and unique, as the serving snapshot and the folded-in overlay expect. */
function requireAscendingIds(ids: Int32Array, what: string): void {
  for (let n = 1; n < ids.length; n++) {
    if (ids[n] === ids[n - 1]) throw new Error(`duplicate key: ${what} id ${ids[n]} appears twice`);
    if (ids[n] < ids[n - 1])
      throw new Error(`${what} ids must be ascending (${ids[n - 1]} before ${ids[n]})`);
  }
}

/** How many versions survive activation: the active one and one to roll back to. */
export const KEPT_VERSIONS = 2;

function arrayLiteral(values: ArrayLike<number>, from: number, length: number): string {
  return `{${float32Text(values, from, length)}}`;
}

/**
 * Model versions and their factors in Postgres (bytea blocks of typed arrays; versions from before
 * that migration as `real[]` rows), written whole and activated atomically.
 */
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
      rank: topN.kind === 'ease' ? 0 : topN.rank,
      encoding: topN.kind === 'ials' ? 'binary' : topN.encoding,
      ials:
        topN.kind === 'ials'
          ? {
              regularization: topN.regularization,
              regExponent: topN.regExponent,
              unobservedWeight: topN.unobservedWeight,
              confidenceScale: topN.confidenceScale,
              recencyHalfLifeDays: topN.recencyHalfLifeDays,
            }
          : undefined,
      ease: topN.kind === 'ease' ? { lambda: topN.lambda } : undefined,
      ratingScale: biased.ratingScale,
      regBias: biased.regBias,
      regFactor: biased.regFactor,
      regExponent: biased.regExponent,
      recencyHalfLifeDays: biased.recencyHalfLifeDays ?? 0,
    };
    return this.db.transaction(async (tx) => {
      const [version]: { id: number }[] = await tx.query(
        `INSERT INTO model_versions (status, hyperparameters, metrics, params, topn_kind, hybrid_weights)
         VALUES ('ready', $1, $2, $3, $4, $5) RETURNING id`,
        [
          JSON.stringify(models.hyperparameters ?? {}),
          JSON.stringify(models.metrics ?? {}),
          JSON.stringify(params),
          topN.kind,
          models.hybridWeights ? JSON.stringify(models.hybridWeights) : null,
        ],
      );
      // Checked inside the transaction: a bad model leaves no version row behind either.
      requireAscendingIds(biased.itemIds, 'movie');
      requireAscendingIds(biased.userIds, 'user');
      await writeFactorBlocks(tx, version.id, {
        item_ids: biased.itemIds,
        item_bias: Float64Array.from(biased.itemBias),
        item_factors: biased.itemFactors,
        topn_factors: topN.kind === 'ease' ? new Float32Array(0) : topN.itemFactors,
        user_ids: biased.userIds,
        user_bias: Float64Array.from(biased.userBias),
        user_factors: biased.userFactors,
        ...(topN.kind === 'ease' ? { ease_columns: topN.columns, ease_weights: topN.weights } : {}),
      });
      return version.id;
    });
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
      topn_kind: TopNKind;
      hyperparameters: unknown;
      metrics: unknown;
      hybrid_weights: StoredHybridWeights | null;
    }[] = await this.db.query(
      `SELECT id, activated_at, params, topn_kind, hyperparameters, metrics, hybrid_weights
         FROM model_versions WHERE status = 'active'`,
    );
    if (versions.length === 0) return null;
    const version = versions[0];
    const { k, rank } = version.params;
    const factors = (await hasFactorBlocks(this.db, version.id))
      ? await this.readBinaryFactors(version.id, k)
      : await this.readTextFactors(version.id, k, rank);
    const { itemIds, itemBias, itemFactors, topNFactors, userIds, userBias, userFactors } = factors;
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
      topN: storedTopN(
        version.id,
        version.topn_kind,
        version.params,
        topNFactors,
        itemIds,
        version.topn_kind === 'ease'
          ? {
              columns: await readFactorPartFast(this.db, version.id, 'ease_columns', Int32Array),
              weights: await readFactorPartFast(this.db, version.id, 'ease_weights', Float32Array),
            }
          : null,
      ),
    };
  }

  /** Factors of a version written as bytea blocks; users folded in since then overlay the trained ones. */
  private async readBinaryFactors(versionId: number, k: number): Promise<FactorArrays> {
    const read = <T extends FactorArray>(
      part: string,
      Make: { new (n: number): T; BYTES_PER_ELEMENT: number },
    ) => readFactorPartFast(this.db, versionId, part, Make);
    const trained = {
      itemIds: await read('item_ids', Int32Array),
      itemBias: await read('item_bias', Float64Array),
      itemFactors: await read('item_factors', Float32Array),
      topNFactors: await read('topn_factors', Float32Array),
      userIds: await read('user_ids', Int32Array),
      userBias: await read('user_bias', Float64Array),
      userFactors: await read('user_factors', Float32Array),
    };
    const folded: { user_id: number; bias: number; factors: number[] }[] = await this.db.query(
      `SELECT user_id, bias, factors FROM model_user_factors WHERE model_id = $1 ORDER BY user_id`,
      [versionId],
    );
    if (folded.length === 0) return trained;
    const row = new Map<number, number>();
    trained.userIds.forEach((id, u) => row.set(id, u));
    const added = folded.filter((f) => !row.has(f.user_id));
    const users = trained.userIds.length + added.length;
    const userIds = new Int32Array(users);
    const userBias = new Float64Array(users);
    const userFactors = new Float32Array(users * k);
    userIds.set(trained.userIds);
    userBias.set(trained.userBias);
    userFactors.set(trained.userFactors);
    added.forEach((f, n) => {
      userIds[trained.userIds.length + n] = f.user_id;
      row.set(f.user_id, trained.userIds.length + n);
    });
    for (const f of folded) {
      const u = row.get(f.user_id) ?? 0;
      userBias[u] = f.bias;
      userFactors.set(f.factors, u * k);
    }
    return { ...trained, userIds, userBias, userFactors };
  }

  /** Versions written before BinaryModelFactors: one `real[]` row per item and per user. */
  private async readTextFactors(versionId: number, k: number, rank: number): Promise<FactorArrays> {
    const items: { movie_id: number; bias: number; factors: number[]; topn_factors: number[] }[] =
      await this.db.query(
        `SELECT movie_id, bias, factors, topn_factors FROM model_item_factors WHERE model_id = $1 ORDER BY movie_id`,
        [versionId],
      );
    const users: { user_id: number; bias: number; factors: number[] }[] = await this.db.query(
      `SELECT user_id, bias, factors FROM model_user_factors WHERE model_id = $1 ORDER BY user_id`,
      [versionId],
    );
    const itemFactors = new Float32Array(items.length * k);
    const topNFactors = new Float32Array(items.length * rank);
    items.forEach((r, i) => {
      itemFactors.set(r.factors, i * k);
      topNFactors.set(r.topn_factors, i * rank);
    });
    const userFactors = new Float32Array(users.length * k);
    users.forEach((r, u) => userFactors.set(r.factors, u * k));
    return {
      itemIds: Int32Array.from(items, (r) => r.movie_id),
      itemBias: Float64Array.from(items, (r) => r.bias),
      itemFactors,
      topNFactors,
      userIds: Int32Array.from(users, (r) => r.user_id),
      userBias: Float64Array.from(users, (r) => r.bias),
      userFactors,
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
