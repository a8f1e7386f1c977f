import { Router } from 'express';
import { z } from 'zod';
import { allAliases } from '../domain/model-aliases';
import type { Deps } from '../deps';
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

export function modelsRouter(deps: Deps): Router {
  const router = Router();

  router.get('/health', async (_req, res) => {
    const gateway = await deps.llm.ping().then(
      (version) => ({ ok: true, version }),
      (err: Error) => ({ ok: false, error: err.message }),
    );
    const last = (
      await deps.db.query(
        `SELECT DISTINCT ON (alias) alias, ok, error_class, served_by, latency_ms, at FROM model_calls ORDER BY alias, at DESC`,
      )
    ).rows;
    const byAlias = new Map(last.map((r) => [r.alias as string, r]));
    const circuits = deps.llm.circuits.snapshot();
    res.json({
      gateway,
      aliases: allAliases().map((alias) => {
        const l = byAlias.get(alias);
        return {
          alias,
          circuit: circuits[alias]?.state ?? 'closed',
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
