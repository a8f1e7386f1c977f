import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import { z } from 'zod';
import { taskQueues } from '../config';
import { PROFILES, makeSystemCheckWorkflowId, newId } from '../domain';
import { probeDependencies, type Deps } from '../deps';
import { documentsRouter } from './documents';
import { graphRouter } from './graph';
import { createMetrics } from './metrics';
import { queryRouter } from './query';
import { ApiError, errorBody, ERROR_STATUS } from './errors';
import { parse } from './validate';

const VERSION = '0.1.0';

/** The Express application; every dependency comes in through `deps`. */
export function createApp(deps: Deps) {
  const app = express();
  const metrics = createMetrics(deps);
  app.locals.metrics = metrics;
  app.disable('x-powered-by');
  app.use(metrics.middleware);
  app.set('trust proxy', 'loopback');
  app.use((req, res, next) => {
    const incoming = req.header('x-request-id');
    const id = incoming && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  });
  app.use(helmet());
  app.use(
    cors({
      origin: (origin, cb) => cb(null, !origin || deps.env.CORS_ORIGINS.includes(origin)),
      credentials: true,
    }),
  );
  app.use(express.json({ limit: '1mb' }));

  app.get('/api/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/api/health', async (_req, res) => {
    const checks = await probeDependencies(deps, deps.env.HEALTH_TIMEOUT_MS);
    const failing = checks.filter((c) => !c.ok).map((c) => c.name);
    res.status(failing.length ? 503 : 200).json({
      status: failing.length ? 'unhealthy' : 'healthy',
      failing,
      dependencies: Object.fromEntries(checks.map((c) => [c.name, { ok: c.ok, latency_ms: c.latencyMs, ...(c.error ? { error: c.error } : {}) }])),
    });
  });

  app.get('/api/status', async (_req, res) => {
    const checks = await probeDependencies(deps, deps.env.HEALTH_TIMEOUT_MS);
    res.json({
      service: 'neuronode-api',
      version: VERSION,
      uptime_s: Math.round(process.uptime()),
      temporal_ui: deps.env.TEMPORAL_UI_URL,
      services: Object.fromEntries(
        checks.map((c) => [c.name, { state: c.ok ? 'up' : 'down', version: c.version ?? null, latency_ms: c.latencyMs, ...(c.error ? { error: c.error } : {}) }]),
      ),
    });
  });

  const systemCheckBody = z.object({ profile: z.enum(PROFILES).default(deps.env.DEFAULT_PROFILE) }).strict();
  app.post('/api/system/check', async (req, res) => {
    const body = parse(systemCheckBody, req.body ?? {});
    if (!deps.temporal) throw new ApiError('dependency_unavailable', 'no Temporal client in this process');
    const checkId = newId();
    const workflowId = makeSystemCheckWorkflowId(checkId);
    const handle = await deps.temporal.workflow.start('systemCheck', {
      taskQueue: taskQueues(deps.env).main,
      workflowId,
      args: [{ checkId, workspaceId: 'default', profile: body.profile }],
      workflowExecutionTimeout: '10m',
    });
    const result = await handle.result();
    res.json({ workflow_id: workflowId, run_id: handle.firstExecutionRunId, ...(result as object) });
  });

  app.use('/api/documents', documentsRouter(deps));
  app.use('/api/graph', graphRouter(deps));
  app.use('/api', queryRouter(deps));

  app.use('/api', (_req, _res, next) => next(new ApiError('not_found', 'no such route')));
  app.use(errorHandler);
  return app;
}

// Express recognises error handlers by their four parameters.
function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof ApiError) {
    res.status(err.status).json(errorBody(err.code, err.message, err.details));
    return;
  }
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') {
    res.status(400).json(errorBody('invalid_json', 'request body is not valid JSON'));
    return;
  }
  if (e?.type === 'entity.too.large') {
    res.status(413).json(errorBody('payload_too_large', 'request body is too large'));
    return;
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    res.status(e.status).json(errorBody('bad_request', e.message ?? 'bad request'));
    return;
  }
  console.error(`request ${String(res.locals.requestId)} failed:`, err);
  res.status(ERROR_STATUS.internal).json(errorBody('internal', 'internal error', { request_id: res.locals.requestId }));
}
