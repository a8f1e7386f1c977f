import { Router } from 'express';
import { z } from 'zod';
import { ASSIGNMENTS_VERSION_KEY } from '../adapters/llm';
import { GOLDEN_TASKS } from '../domain/golden-set';
import { PROFILES, TASKS, allAliases } from '../domain/model-aliases';
import { optimizeInput } from '../schedules';
import { taskQueues } from '../config';
import { newId } from '../domain';
import type { Deps } from '../deps';
import { ApiError } from './errors';
import { parse } from './validate';

/**
 * Model management (the model_management permission): gateway health with this process's circuit
 * states and each alias's latest outcome, and the seed's model performance metrics per alias and
 * serving model, from every recorded call.
 */
export const PerformanceQuery = z
  .object({
    hours: z.coerce.number().int().min(1).max(24 * 90).default(24 * 7),
    alias: z.string().max(100).optional(),
  })
  .strict();

export const AssignRequest = z
  .object({
    task: z.enum(TASKS),
    profile: z.enum(PROFILES),
    /** A model the gateway serves; null returns the slot to its alias's own model. */
    model: z.string().min(1).max(200).nullable(),
    reason: z.string().max(500).optional(),
  })
  .strict();

export const OptimizeRequest = z
  .object({
    candidates: z.array(z.string().min(1).max(200)).min(1).max(8).optional(),
    tasks: z.array(z.enum(GOLDEN_TASKS as [string, ...string[]])).min(1).optional(),
    /** Items per task; the whole golden set when absent. */
    limit: z.number().int().min(1).max(100).optional(),
    require_approval: z.boolean().optional(),
  })
  .strict();
export const OptimizationIdParam = z.object({ id: z.string().regex(/^optimize-[\w-]{1,100}$/, 'not an optimisation run id') });
export const HealthQuery = z.object({ refresh: z.enum(['true', 'false']).optional() }).strict();
const PROBE_KEY = 'neuronode:models:probe';
const PROBE_LOCK = 'neuronode:models:probe:lock';
interface ProbeSet {
  probed_at: string;
  results: Record<string, { ok: boolean; latency_ms: number; served_by: string | null; error?: string }>;
}
export const DecisionRequest = z.object({ approve: z.boolean() }).strict();
export const OptimizationListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }).strict();

export function modelsRouter(deps: Deps): Router {
  const router = Router();
  /** Every name the gateway serves (models and aliases); a gateway that cannot list them is a 503. */
  const gatewayModels = () =>
    deps.llm.models().catch((err: Error) => {
      throw new ApiError('dependency_unavailable', `the model gateway cannot list its models: ${err.message}`);
    });

  /** Starts an optimisation run now (the same workflow the schedule starts). */
  router.post('/optimize', async (req, res) => {
    const body = parse(OptimizeRequest, req.body ?? {});
    const input = optimizeInput(deps.env, {
      trigger: 'admin',
      ...(body.candidates ? { candidates: body.candidates } : {}),
      ...(body.tasks ? { tasks: body.tasks as typeof GOLDEN_TASKS } : {}),
      ...(body.limit ? { limit: body.limit } : {}),
      ...(body.require_approval !== undefined ? { requireApproval: body.require_approval } : {}),
    });
    const workflowId = `optimize-${newId()}`;
    await deps.temporal!.workflow.start('optimizeModels', { taskQueue: taskQueues(deps.env).main, workflowId, args: [input] });
    res.locals.audit = { run_id: workflowId, candidates: input.candidates, tasks: input.tasks };
    res.status(202).json({ run_id: workflowId, workflow_id: workflowId, candidates: input.candidates, tasks: input.tasks, require_approval: input.requireApproval });
  });

  /** The latest optimisation runs, newest first: what an administrator reviews and decides on. */
  router.get('/optimizations', async (req, res) => {
    const q = parse(OptimizationListQuery, req.query);
    const runs = (
      await deps.db.query(
        `SELECT id, status, trigger, golden_version, candidates, tasks, require_approval, note, created_at, finished_at
           FROM optimization_runs ORDER BY created_at DESC, id LIMIT $1`,
        [q.limit],
      )
    ).rows;
    res.json({ runs });
  });

  router.get('/optimizations/:id', async (req, res) => {
    const { id } = parse(OptimizationIdParam, req.params);
    const run = (await deps.db.query(`SELECT * FROM optimization_runs WHERE id = $1`, [id])).rows[0];
    if (!run) throw new ApiError('not_found', `no optimisation run ${id}`);
    const progress = run.status === 'running' ? await deps.temporal!.workflow.getHandle(id).query('optimizationState').then((s) => ({ done: (s as { done: number }).done, total: (s as { total: number }).total }), () => null) : null;
    res.json({ ...run, scores: Object.values(run.scores ?? {}), progress });
  });

  /** An administrator's approval or rejection of a run that waits for it. */
  router.post('/optimizations/:id/decision', async (req, res) => {
    const { id } = parse(OptimizationIdParam, req.params);
    const body = parse(DecisionRequest, req.body);
    const run = (await deps.db.query(`SELECT status FROM optimization_runs WHERE id = $1`, [id])).rows[0];
    if (!run) throw new ApiError('not_found', `no optimisation run ${id}`);
    if (run.status !== 'awaiting_approval') throw new ApiError('conflict', `the run is ${run.status}, not awaiting approval`);
    await deps.temporal!.workflow.getHandle(id).signal('decision', { approve: body.approve, by: req.user!.email });
    res.locals.audit = { run_id: id, approve: body.approve };
    res.status(202).json({ run_id: id, approve: body.approve });
  });

  /**
   * What the gateway serves, split in two: the models themselves (what an assignment or an optimisation
   * run names) and this installation's task × profile and embedding aliases, which it serves too.
   */
  router.get('/served', async (_req, res) => {
    const served = await gatewayModels();
    const aliases = new Set<string>(allAliases());
    res.json({ models: served.filter((m) => !aliases.has(m)), aliases: served.filter((m) => aliases.has(m)) });
  });

  router.get('/assignments', async (_req, res) => {
    const rows = (await deps.db.query(`SELECT task, profile, model, source, reason, updated_by, updated_at FROM model_assignments ORDER BY task, profile`)).rows;
    res.json({ assignments: rows });
  });

  /** Persisted, and effective at once in every API and worker process (they watch a version in Redis). */
  router.post('/assign', async (req, res) => {
    const body = parse(AssignRequest, req.body);
    const before = (await deps.db.query(`SELECT model FROM model_assignments WHERE task = $1 AND profile = $2`, [body.task, body.profile])).rows[0]?.model ?? null;
    if (body.model === null) {
      await deps.db.query(`DELETE FROM model_assignments WHERE task = $1 AND profile = $2`, [body.task, body.profile]);
    } else {
      const served = await gatewayModels();
      if (!served.includes(body.model)) throw new ApiError('validation_failed', `the gateway serves no model ${body.model}`, { served });
      await deps.db.query(
        `INSERT INTO model_assignments (task, profile, model, source, reason, updated_by) VALUES ($1, $2, $3, 'admin', $4, $5)
         ON CONFLICT (task, profile) DO UPDATE SET model = EXCLUDED.model, source = 'admin', reason = EXCLUDED.reason, updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [body.task, body.profile, body.model, JSON.stringify({ note: body.reason ?? null }), req.user!.userId],
      );
    }
    const version = await deps.redis.incr(ASSIGNMENTS_VERSION_KEY);
    res.locals.audit = { task: body.task, profile: body.profile, before, after: body.model };
    res.json({ task: body.task, profile: body.profile, model: body.model, previous: before, version });
  });

  /**
   * Probes every alias with one minimal real call (three at a time) and caches the results in Redis
   * for MODEL_PROBE_TTL_S, so every API process shares them and a dashboard polling the endpoint
   * causes no model traffic. One process probes at a time (a Redis lock).
   */
  const probeAll = async (): Promise<ProbeSet | null> => {
    if (!(await deps.redis.set(PROBE_LOCK, '1', 'EX', 120, 'NX'))) return null;
    try {
      const aliases = allAliases();
      const results: Record<string, Awaited<ReturnType<typeof deps.llm.probe>>> = {};
      let next = 0;
      await Promise.all(
        Array.from({ length: 3 }, async () => {
          while (next < aliases.length) {
            const alias = aliases[next++]!;
            results[alias] = await deps.llm.probe(alias);
          }
        }),
      );
      const set: ProbeSet = { probed_at: new Date().toISOString(), results };
      await deps.redis.set(PROBE_KEY, JSON.stringify(set), 'EX', 7 * 86_400);
      return set;
    } finally {
      await deps.redis.del(PROBE_LOCK);
    }
  };

  /** The probe another request is running, when it ends (the lock is gone); null if it never ends in time. */
  const probeInFlight = async (): Promise<ProbeSet | null> => {
    const end = Date.now() + 120_000;
    while (await deps.redis.exists(PROBE_LOCK)) {
      if (Date.now() > end) return null;
      await new Promise((r) => setTimeout(r, 250));
    }
    return JSON.parse((await deps.redis.get(PROBE_KEY)) ?? 'null') as ProbeSet | null;
  };

  router.get('/health', async (req, res) => {
    const q = parse(HealthQuery, req.query);
    const gateway = await deps.llm.ping().then(
      (version) => ({ ok: true, version }),
      (err: Error) => ({ ok: false, error: err.message }),
    );
    let probes = JSON.parse((await deps.redis.get(PROBE_KEY)) ?? 'null') as ProbeSet | null;
    const stale = !probes || Date.parse(probes.probed_at) < Date.now() - deps.env.MODEL_PROBE_TTL_S * 1000;
    let refreshing = false;
    if (q.refresh === 'true' && gateway.ok) {
      // A probe another request started answers this one too, once it is done.
      probes = (await probeAll()) ?? (await probeInFlight()) ?? probes;
    } else if (stale && gateway.ok) {
      // Answered from the cache at once; the refresh runs behind the response.
      refreshing = true;
      void probeAll().catch((err: Error) => console.error('model probe failed:', err.message));
    }
    const last = (
      await deps.db.query(
        `SELECT DISTINCT ON (alias) alias, ok, error_class, served_by, latency_ms, at FROM model_calls ORDER BY alias, at DESC`,
      )
    ).rows;
    const byAlias = new Map(last.map((r) => [r.alias as string, r]));
    const circuits = deps.llm.circuits.snapshot();
    res.json({
      gateway,
      probe: {
        probed_at: probes?.probed_at ?? null,
        ttl_s: deps.env.MODEL_PROBE_TTL_S,
        stale: !probes || Date.parse(probes.probed_at) < Date.now() - deps.env.MODEL_PROBE_TTL_S * 1000,
        refreshing,
      },
      aliases: allAliases().map((alias) => {
        const l = byAlias.get(alias);
        return {
          alias,
          circuit: circuits[alias]?.state ?? 'closed',
          probe: probes?.results[alias] ?? null,
          last_call: l ? { ok: l.ok, error_class: l.error_class, served_by: l.served_by, latency_ms: l.latency_ms, at: l.at } : null,
        };
      }),
    });
  });

  router.get('/performance', async (req, res) => {
    const q = parse(PerformanceQuery, req.query);
    const rows = (
      await deps.db.query(
        `SELECT alias, coalesce(served_by, 'unknown') AS model, task, profile,
                count(*)::int AS total_requests,
                round(avg(latency_ms))::int AS avg_response_ms,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)::int AS p95_response_ms,
                round(avg(CASE WHEN ok THEN 1 ELSE 0 END)::numeric, 4)::float AS success_rate,
                coalesce(sum(tokens_in), 0)::bigint AS tokens_in, coalesce(sum(tokens_out), 0)::bigint AS tokens_out,
                coalesce(sum(cost_usd), 0)::float AS cost_usd,
                CASE WHEN coalesce(sum(tokens_in + tokens_out), 0) > 0
                     THEN (coalesce(sum(cost_usd), 0) * 1000 / sum(tokens_in + tokens_out))::float ELSE 0 END AS cost_per_1k_tokens,
                count(*) FILTER (WHERE at > now() - interval '24 hours')::int AS last_24h_requests,
                max(at) AS last_call_at
           FROM model_calls
          WHERE at > now() - make_interval(hours => $1) AND ($2::text IS NULL OR alias = $2)
          GROUP BY alias, coalesce(served_by, 'unknown'), task, profile
          ORDER BY alias, total_requests DESC`,
        [q.hours, q.alias ?? null],
      )
    ).rows.map((r) => ({ ...r, tokens_in: Number(r.tokens_in), tokens_out: Number(r.tokens_out) }));
    res.json({ hours: q.hours, models: rows });
  });

  return router;
}
