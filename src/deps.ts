import type { Client } from '@temporalio/client';
import type { ChromaClient } from 'chromadb';
import type Redis from 'ioredis';
import type { Driver } from 'neo4j-driver';
import type { Pool } from 'pg';
import { createSpendGuard } from './budget';
import {
  LlmClient,
  createChroma,
  createNeo4j,
  createPostgres,
  createRedis,
  createTemporalClient,
  pingChroma,
  pingNeo4j,
  pingPostgres,
  pingRedis,
  pingTemporal,
  withTimeout,
} from './adapters';
import type { Env } from './config';

/** Every external client the API and the worker use, built once per process. */
export interface Deps {
  env: Env;
  db: Pool;
  redis: Redis;
  graph: Driver;
  chroma: ChromaClient;
  llm: LlmClient;
  temporal?: Client;
}

export async function createDeps(env: Env, opts: { temporal?: boolean } = {}): Promise<Deps> {
  const db = createPostgres(env.DATABASE_URL);
  const redis = createRedis(env.REDIS_URL);
  const deps: Deps = {
    env,
    db,
    redis,
    graph: createNeo4j(env.NEO4J_URL, env.NEO4J_USER, env.NEO4J_PASSWORD),
    chroma: createChroma(env.CHROMA_URL),
    llm: new LlmClient({ baseUrl: env.LITELLM_URL, masterKey: env.LITELLM_MASTER_KEY, timeoutMs: env.LLM_TIMEOUT_MS, db, redis, beforeCall: createSpendGuard(db, redis, env) }),
  };
  if (opts.temporal !== false) {
    deps.temporal = await createTemporalClient(env);
  }
  return deps;
}

export async function closeDeps(deps: Deps): Promise<void> {
  await Promise.allSettled([
    deps.db.end(),
    deps.graph.close(),
    deps.temporal?.connection.close(),
    (async () => {
      deps.redis.disconnect();
    })(),
  ]);
}

export type DependencyName = 'postgres' | 'redis' | 'neo4j' | 'chroma' | 'litellm' | 'temporal';

export interface DependencyHealth {
  name: DependencyName;
  ok: boolean;
  latencyMs: number;
  version?: string;
  error?: string;
}

/** Probes every dependency in parallel, each bounded by `timeoutMs`. */
export async function probeDependencies(deps: Deps, timeoutMs: number): Promise<DependencyHealth[]> {
  const probes: [DependencyName, () => Promise<string>][] = [
    ['postgres', () => pingPostgres(deps.db)],
    ['redis', () => pingRedis(deps.redis)],
    ['neo4j', () => pingNeo4j(deps.graph)],
    ['chroma', () => pingChroma(deps.chroma)],
    ['litellm', () => deps.llm.ping()],
    ['temporal', () => (deps.temporal ? pingTemporal(deps.temporal) : Promise.reject(new Error('no Temporal client')))],
  ];
  return Promise.all(
    probes.map(async ([name, probe]) => {
      const started = performance.now();
      try {
        const version = await withTimeout(probe(), timeoutMs, `${name} probe`);
        return { name, ok: true, latencyMs: Math.round(performance.now() - started), version };
      } catch (err) {
        return { name, ok: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
      }
    }),
  );
}
