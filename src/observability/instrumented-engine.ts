import { performance } from 'node:perf_hooks';
import type { EngineRole, RecommendationEngine, RecommendationRequest, ScoredMovie } from '../engines/engine';
import type { StructuredLogger } from '../logger';
import type { ServiceMetrics } from './metrics';

/**
 * The engine as the orchestrator sees it, timing each call into cinegraph_engine_duration_seconds
 * (and a debug line per call when LOG_LEVEL=debug). Everything else is the engine's own.
 */
export function instrumentEngine(
  engine: RecommendationEngine,
  metrics: ServiceMetrics,
  logger: StructuredLogger | null,
): RecommendationEngine {
  const debug = logger?.enabled('debug') ? logger : null;
  const timed = async <T>(
    method: string,
    call: () => Promise<T>,
    size: (result: T) => number,
  ): Promise<T> => {
    const started = performance.now();
    let outcome = 'ok';
    let result: T | undefined;
    try {
      result = await call();
      return result;
    } catch (error) {
      outcome = 'error';
      throw error;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      metrics.engineDuration.observe({ engine: engine.name, method, outcome }, seconds);
      debug?.event(
        'debug',
        {
          engine: engine.name,
          method,
          outcome,
          durationMs: Math.round(seconds * 1e6) / 1e3,
          ...(result !== undefined ? { results: size(result) } : {}),
        },
        `engine ${engine.name}.${method}`,
      );
    }
  };
  const scoreMovies = engine.scoreMovies?.bind(engine);
  return {
    name: engine.name,
    status: () => engine.status(),
    ...(engine.servingVersion ? { servingVersion: () => engine.servingVersion!() } : {}),
    recommend: (request: RecommendationRequest) =>
      timed(
        'recommend',
        () => engine.recommend(request),
        (found: ScoredMovie[]) => found.length,
      ),
    ...(scoreMovies
      ? {
          scoreMovies: (userId: number, movieIds: readonly number[], role?: EngineRole) =>
            timed(
              'scoreMovies',
              () => scoreMovies(userId, movieIds, role),
              (scored: Map<number, ScoredMovie>) => scored.size,
            ),
        }
      : {}),
  };
}
