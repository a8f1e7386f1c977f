import { condition, defineQuery, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { OptimizationRunInput } from '../activities/optimize';
import type { CandidateScore, Decision } from '../domain/model-choice';

const stores = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 5 },
});

/** A run's settings (see `OptimizationRunInput`), and the queue its model calls run on. */
export type OptimizeModelsInput = Omit<OptimizationRunInput, 'runId'> & { llmTaskQueue: string };

export interface OptimizeModelsState {
  status: 'evaluating' | 'awaiting_approval' | 'applied' | 'rejected';
  done: number;
  total: number;
  scores: CandidateScore[];
  decisions: Decision[];
}

export const optimizationState = defineQuery<OptimizeModelsState>('optimizationState');
export const decisionSignal = defineSignal<[{ approve: boolean; by?: string }]>('decision');

/**
 * Scores every candidate on every task of the golden set, chooses per profile, records the run with
 * every score and the decision's evidence, and applies it — or waits, durably, for an
 * administrator's approval when so configured. Run on a schedule and on demand.
 */
export async function optimizeModels(input: OptimizeModelsInput): Promise<OptimizeModelsState> {
  const runId = workflowInfo().workflowId;
  const models = proxyActivities<Activities>({
    taskQueue: input.llmTaskQueue,
    startToCloseTimeout: '20m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 3 },
  });
  const state: OptimizeModelsState = { status: 'evaluating', done: 0, total: input.tasks.length * input.candidates.length, scores: [], decisions: [] };
  let verdict: { approve: boolean; by?: string } | undefined;
  setHandler(optimizationState, () => state);
  setHandler(decisionSignal, (d) => {
    verdict ??= d;
  });

  await stores.startOptimizationRun({ runId, candidates: input.candidates, tasks: input.tasks, limit: input.limit, floor: input.floor, requireApproval: input.requireApproval, trigger: input.trigger });
  // One at a time: candidates share the machine, and parallel runs would distort each other's latency.
  for (const task of input.tasks) {
    for (const model of input.candidates) {
      state.scores.push(await models.evaluateCandidate({ runId, task, model, limit: input.limit }));
      state.done++;
    }
  }
  state.decisions = await stores.decideModels({ runId, scores: state.scores, floor: input.floor, requireApproval: input.requireApproval });
  if (input.requireApproval) {
    state.status = 'awaiting_approval';
    await condition(() => verdict !== undefined);
    if (!verdict!.approve) {
      await stores.finishOptimizationRun({ runId, status: 'rejected', note: verdict!.by ? `rejected by ${verdict!.by}` : 'rejected' });
      state.status = 'rejected';
      return state;
    }
  }
  await stores.applyDecisions({ runId, decisions: state.decisions });
  await stores.finishOptimizationRun({ runId, status: 'applied', note: verdict?.by ? `approved by ${verdict.by}` : undefined });
  state.status = 'applied';
  return state;
}
