import { Router } from 'express';
import { z } from 'zod';
import { taskQueues } from '../config';
import { PROFILES, makeSystemCheckWorkflowId, newId } from '../domain';
import { probeDependencies, type DependencyHealth, type Deps } from '../deps';
import { authenticateUpgrade } from './auth';
import { roleHas } from './rbac';
import { workspaceOf } from './documents';
import { ApiError } from './errors';
import { parse } from './validate';

export const VERSION = '0.1.0';

export const SystemCheckRequest = z.object({ profile: z.enum(PROFILES).optional() }).strict();

/** Health (public), status and the end-to-end system check. */
export function systemRouter(deps: Deps): Router {
  const router = Router();

  // Health checks that arrive while a probe runs share it: a flood of checks cannot turn into a
  // flood of store connections (and each address is rate-limited besides).
  let inFlight: Promise<DependencyHealth[]> | undefined;
  const probe = () => {
    inFlight ??= probeDependencies(deps, deps.env.HEALTH_TIMEOUT_MS).finally(() => (inFlight = undefined));
    return inFlight;
  };

  /**
   * Anyone may ask whether the system is healthy, and which dependency is not; the details (each
   * probe's latency and error) are for callers with the model_management permission.
   */
  router.get('/health', async (req, res) => {
    const [checks, caller] = await Promise.all([
      probe(),
      // With a store away the caller cannot be identified; the answer is then the anonymous one (the
      // failing list still names that store).
      authenticateUpgrade(deps, req).catch((err: Error) => {
        console.warn(`health: the caller could not be identified (${err.message}); answered without details`);
        return null;
      }),
    ]);
    const failing = checks.filter((c) => !c.ok).map((c) => c.name);
    res.status(failing.length ? 503 : 200).json({
      status: failing.length ? 'unhealthy' : 'healthy',
      failing,
      ...(caller && roleHas(caller.role, 'model_management')
        ? { dependencies: Object.fromEntries(checks.map((c) => [c.name, { ok: c.ok, latency_ms: c.latencyMs, ...(c.error ? { error: c.error } : {}) }])) }
        : {}),
    });
  });

  router.get('/status', async (_req, res) => {
    const checks = await probeDependencies(deps, deps.env.HEALTH_TIMEOUT_MS);
    res.json({
      service: 'neuronode-api',
      version: VERSION,
      uptime_s: Math.round(process.uptime()),
      temporal_ui: deps.env.TEMPORAL_UI_URL,
      litellm_ui: new URL('/ui', deps.env.LITELLM_URL).href,
      services: Object.fromEntries(
        checks.map((c) => [c.name, { state: c.ok ? 'up' : 'down', version: c.version ?? null, latency_ms: c.latencyMs, ...(c.error ? { error: c.error } : {}) }]),
      ),
    });
  });

  router.post('/system/check', async (req, res) => {
    const body = parse(SystemCheckRequest, req.body ?? {});
    if (!deps.temporal) throw new ApiError('dependency_unavailable', 'no Temporal client in this process');
    const checkId = newId();
    const workflowId = makeSystemCheckWorkflowId(checkId);
    const handle = await deps.temporal.workflow.start('systemCheck', {
      taskQueue: taskQueues(deps.env).main,
      workflowId,
      args: [{ checkId, workspaceId: workspaceOf(req), profile: body.profile ?? deps.env.DEFAULT_PROFILE }],
      workflowExecutionTimeout: '10m',
    });
    const result = await handle.result();
    res.json({ workflow_id: workflowId, run_id: handle.firstExecutionRunId, ...(result as object) });
  });

  return router;
}
