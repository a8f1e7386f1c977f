import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { activityHistogram } from '../activity-metrics';
import type { Deps } from '../deps';
import { routeOf } from './routes';

/**
 * Prometheus metrics of the API process (prom-client): HTTP latency by route and status, WebSocket
 * connections by channel, and — read at scrape time from the system of record, so they count every process —
 * LLM calls, tokens and cost by alias (PostgreSQL `model_calls`) and workflows by type and status
 * (Temporal visibility), and activity latency recorded by every worker (Redis).
 */
export interface Metrics {
  registry: Registry;
  middleware(req: Request, res: Response, next: NextFunction): void;
  wsConnections: Gauge;
}

export function createMetrics(deps: Deps): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'neuronode_' });
  const http = new Histogram({
    name: 'neuronode_http_request_duration_seconds',
    help: 'HTTP request latency by route template, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const wsConnections = new Gauge({ name: 'neuronode_websocket_connections', help: 'Open WebSocket connections', labelNames: ['channel'] as const, registers: [registry] });

  const llmCalls = new Counter({ name: 'neuronode_llm_calls_total', help: 'LLM calls by alias and outcome (all processes)', labelNames: ['alias', 'ok'] as const, registers: [registry] });
  const llmTokens = new Counter({ name: 'neuronode_llm_tokens_total', help: 'LLM tokens by alias and direction (all processes)', labelNames: ['alias', 'direction'] as const, registers: [registry] });
  const llmCost = new Counter({ name: 'neuronode_llm_cost_usd_total', help: 'LLM cost in USD by alias (all processes)', labelNames: ['alias'] as const, registers: [registry] });
  // Activity latency: workers record it in Redis; served here as a histogram at scrape time.
  let activity: Awaited<ReturnType<typeof activityHistogram>> | null = null;
  registry.registerMetric({
    name: 'neuronode_activity_duration_seconds',
    get: async () => ({ name: 'neuronode_activity_duration_seconds', help: 'Activity latency by activity type (all workers)', type: 'histogram', aggregator: 'sum', values: activity?.values ?? [] }),
  } as never);
  registry.registerMetric({
    name: 'neuronode_activity_failures_total',
    get: async () => ({ name: 'neuronode_activity_failures_total', help: 'Failed activity attempts by activity type (all workers)', type: 'counter', aggregator: 'sum', values: activity?.failures ?? [] }),
  } as never);
  registry.registerMetric({
    name: 'neuronode_worker_activities_total',
    get: async () => ({
      name: 'neuronode_worker_activities_total',
      help: 'Activity attempts by worker identity, activity type and outcome (completed or failed)',
      type: 'counter',
      aggregator: 'sum',
      values: activity?.workers ?? [],
    }),
  } as never);
  const workflows = new Gauge({ name: 'neuronode_workflows', help: 'Workflow executions by type and status (Temporal visibility)', labelNames: ['type', 'status'] as const, registers: [registry] });

  const sourceUp = new Gauge({
    name: 'neuronode_metrics_source_up',
    help: 'Whether this scrape could read each store behind the shared metrics (0: that store\'s metrics are left out, never served stale)',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  /** Reads one store's metrics; when it cannot, they are cleared (absent, not stale) and the log says why. */
  const from = async (source: 'postgres' | 'redis' | 'temporal', read: () => Promise<void>, clear: () => void) => {
    try {
      await read();
      sourceUp.set({ source }, 1);
    } catch (err) {
      clear();
      sourceUp.set({ source }, 0);
      console.warn(`metrics: ${source} could not be read (${(err as Error).message}); its metrics are left out of this scrape`);
    }
  };
  const clearLlm = () => {
    llmCalls.reset();
    llmTokens.reset();
    llmCost.reset();
  };

  // Totals from the stores, refreshed when scraped. Counters are set to the stored totals.
  const refresh = async () => {
    await from(
      'postgres',
      async () => {
        const rows = (
          await deps.db.query(
            `SELECT alias, ok, count(*)::bigint AS calls, coalesce(sum(tokens_in),0)::bigint AS tin, coalesce(sum(tokens_out),0)::bigint AS tout, coalesce(sum(cost_usd),0) AS cost
             FROM model_calls GROUP BY alias, ok`,
          )
        ).rows;
        clearLlm();
        for (const r of rows) {
          llmCalls.inc({ alias: r.alias, ok: String(r.ok) }, Number(r.calls));
          llmTokens.inc({ alias: r.alias, direction: 'in' }, Number(r.tin));
          llmTokens.inc({ alias: r.alias, direction: 'out' }, Number(r.tout));
          if (Number(r.cost) > 0) llmCost.inc({ alias: r.alias }, Number(r.cost));
        }
      },
      clearLlm,
    );
    await from(
      'redis',
      async () => {
        activity = await activityHistogram(deps.redis);
      },
      () => (activity = null),
    );
    const temporal = deps.temporal;
    if (temporal) {
      await from(
        'temporal',
        async () => {
          workflows.reset();
          for (const type of ['ingestDocument', 'ingestBatch', 'deleteDocument', 'answerQuery', 'batchQuery', 'systemCheck']) {
            for (const status of ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut']) {
              const n = await temporal.workflow.count(`WorkflowType = '${type}' AND ExecutionStatus = '${status}'`);
              workflows.set({ type, status: status.toLowerCase() }, n.count);
            }
          }
        },
        () => workflows.reset(),
      );
    }
  };
  const originalMetrics = registry.metrics.bind(registry);
  registry.metrics = async () => {
    await refresh();
    return originalMetrics();
  };

  return {
    registry,
    wsConnections,
    middleware(req, res, next) {
      const end = http.startTimer();
      res.on('finish', () => {
        end({ method: req.method, route: routeTemplate(req), status: String(res.statusCode) });
      });
      next();
    },
  };
}

/** The route's template from the route table (never the raw path, whose ids would explode the label set). */
function routeTemplate(req: Request): string {
  return routeOf(req.method, req.originalUrl.split('?')[0]!)?.path ?? 'unmatched';
}
