import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { taskQueues, type Env } from './config';
import { GOLDEN_TASKS } from './domain/golden-set';
import type { OptimizeModelsInput } from './workflows';

export const OPTIMIZE_SCHEDULE_ID = 'neuronode-optimize-models';

export function optimizeInput(env: Env, overrides: Partial<OptimizeModelsInput> = {}): OptimizeModelsInput {
  return {
    candidates: env.OPTIMIZE_CANDIDATES,
    tasks: GOLDEN_TASKS,
    floor: env.OPTIMIZE_QUALITY_FLOOR,
    requireApproval: env.OPTIMIZE_REQUIRE_APPROVAL,
    trigger: 'schedule',
    llmTaskQueue: taskQueues(env).llm,
    ...overrides,
  };
}

/**
 * The model-optimisation schedule, created at start-up: exactly one, whatever number of processes
 * start; a changed configuration updates it in place. Visible (and pausable) in the Temporal Web UI.
 */
export async function ensureOptimizationSchedule(client: Client, env: Env): Promise<'created' | 'updated'> {
  const spec = { cronExpressions: [env.OPTIMIZE_CRON] };
  const action = { type: 'startWorkflow' as const, workflowType: 'optimizeModels', taskQueue: taskQueues(env).main, args: [optimizeInput(env)] };
  try {
    await client.schedule.create({ scheduleId: OPTIMIZE_SCHEDULE_ID, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(OPTIMIZE_SCHEDULE_ID).update((prev) => ({ ...prev, spec, action }));
    return 'updated';
  }
}
