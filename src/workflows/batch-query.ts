import { CancellationScope, ParentClosePolicy, continueAsNew, defineQuery, isCancellation, proxyLocalActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AnswerInput } from '../activities/query';
import { answerQuery } from './answer-query';

const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5 } });

export interface BatchQueryInput {
  batchId: string;
  workspaceId: string;
  userId: string | null;
  total: number;
  options: Pick<AnswerInput, 'profile' | 'mode' | 'topK' | 'filters' | 'generate'>;
  llmTaskQueue: string;
  /** @default 2 questions in flight */
  window?: number;
  readableBy?: string | null;
  /** Carried across continue-as-new. */
  cursor?: number;
  done?: { completed: number; failed: number };
}

export interface BatchQueryProgress {
  total: number;
  started: number;
  completed: number;
  failed: number;
  in_flight: number;
  percent: number;
}

export const batchQueryProgress = defineQuery<BatchQueryProgress>('batchQueryProgress');

/** Questions per run before continue-as-new keeps the history small. */
const QUESTIONS_PER_RUN = 200;

/**
 * Answers a stored list of questions through a bounded window of child `answerQuery` workflows.
 * Each child has a deterministic id and writes its one history row keyed by (batch, index), so a
 * worker crash, a replay or a retry never answers a question twice or loses one. Cancelling the
 * batch cancels the questions in flight and records the batch as cancelled.
 */
export async function batchQuery(input: BatchQueryInput): Promise<BatchQueryProgress> {
  const window = Math.max(1, Math.min(input.window ?? 2, 16));
  const done = { ...(input.done ?? { completed: 0, failed: 0 }) };
  let cursor = input.cursor ?? 0;
  const inFlight = new Map<number, Promise<void>>();
  const progress = (): BatchQueryProgress => ({
    total: input.total,
    started: cursor,
    ...done,
    in_flight: inFlight.size,
    percent: Math.round((100 * (done.completed + done.failed)) / Math.max(1, input.total)),
  });
  setHandler(batchQueryProgress, progress);
  const parent = workflowInfo().workflowId;
  try {
    const runEnd = Math.min(input.total, cursor + QUESTIONS_PER_RUN);
    const page = await local.loadBatchQuestions({ batchId: input.batchId, from: cursor, to: runEnd });
    let reported = Date.now();
    while (cursor < runEnd || inFlight.size > 0) {
      while (cursor < runEnd && inFlight.size < window) {
        const index = cursor++;
        const question = page[index - (input.cursor ?? 0)]!;
        const child = await startChild(answerQuery, {
          workflowId: `${parent}-q${index}`,
          args: [{ ...input.options, queryId: `q_${input.batchId}_${index}`, workspaceId: input.workspaceId, userId: input.userId, question, cacheKey: null, batchId: input.batchId, batchIndex: index, llmTaskQueue: input.llmTaskQueue, readableBy: input.readableBy }],
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        });
        inFlight.set(
          index,
          child.result().then(
            () => void done.completed++,
            () => void done.failed++,
          ).finally(() => inFlight.delete(index)),
        );
      }
      if (inFlight.size > 0) await Promise.race(inFlight.values());
      if (Date.now() - reported > 5000) {
        reported = Date.now();
        await local.recordBatch({ batchId: input.batchId, workspaceId: input.workspaceId, status: 'running', progress: { ...progress() } });
      }
    }
    if (cursor < input.total) {
      await local.recordBatch({ batchId: input.batchId, workspaceId: input.workspaceId, status: 'running', progress: { ...progress() } });
      await continueAsNew<typeof batchQuery>({ ...input, cursor, done });
    }
    await local.recordBatch({ batchId: input.batchId, workspaceId: input.workspaceId, status: 'completed', progress: { ...progress() } });
    return progress();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => local.recordBatch({ batchId: input.batchId, workspaceId: input.workspaceId, status: 'cancelled', progress: { ...progress() } }));
    }
    throw err;
  }
}
