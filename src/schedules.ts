import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { taskQueues, type Env } from './config';
import { GOLDEN_TASKS } from './domain/golden-set';
import type { OptimizeModelsInput } from './workflows';

/**
 * The schedule belongs to the deployment whose task queues it starts work on, so its id carries the
 * same prefix: two deployments sharing one Temporal namespace (or a test run beside an installation)
 * each keep their own.
 */
export function optimizeScheduleId(env: Pick<Env, 'TASK_QUEUE_PREFIX'>): string {
  return `${env.TASK_QUEUE_PREFIX}-optimize-models`;
}
/** The id before it carried the prefix; removed when the current one is ensured. */
const LEGACY_SCHEDULE_ID = 'neuronode-optimize-models';

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
  const scheduleId = optimizeScheduleId(env);
  try {
    await client.schedule.getHandle(LEGACY_SCHEDULE_ID).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
    return 'updated';
  }
}
