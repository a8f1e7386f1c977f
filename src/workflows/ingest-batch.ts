import { ParentClosePolicy, continueAsNew, defineQuery, setHandler, startChild, type ChildWorkflowHandle } from '@temporalio/workflow';
import type { IngestProfile } from '../activities/ingest';
import { ingestDocument } from './ingest-document';

export interface BatchInput {
  batchId: string;
  workspaceId: string;
  profile: IngestProfile;
  llmTaskQueue: string;
  documentIds: string[];
  /** @default 4 documents in flight at once */
  window?: number;
  chunkTokens?: number;
  overlapTokens?: number;
  /** Carried across continue-as-new. */
  cursor?: number;
  done?: { completed: number; failed: number; cancelled: number; rejected?: number };
  /** Passed to every document's ingestion. */
  budget?: { approvalTimeoutMs: number; recheckMs: number };
}

export interface BatchProgress {
  total: number;
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Refused by the budget gate. */
  rejected: number;
  in_flight: number;
  percent: number;
}

export const batchProgressQuery = defineQuery<BatchProgress>('batchProgress');

/**
 * Documents continue-as-new after this many, so the batch's history stays small however many
 * documents it holds (each child adds a handful of events).
 */
const DOCUMENTS_PER_RUN = 200;

/** Ingests many stored documents as child workflows through a bounded sliding window. */
export async function ingestBatch(input: BatchInput): Promise<BatchProgress> {
  const window = Math.max(1, Math.min(input.window ?? 4, 32));
  const done = { rejected: 0, ...(input.done ?? { completed: 0, failed: 0, cancelled: 0 }) };
  let cursor = input.cursor ?? 0;
  const inFlight = new Map<string, Promise<void>>();
  const progress = (): BatchProgress => {
    const finished = done.completed + done.failed + done.cancelled + done.rejected;
    return { total: input.documentIds.length, started: cursor, ...done, in_flight: inFlight.size, percent: Math.round((100 * finished) / Math.max(1, input.documentIds.length)) };
  };
  setHandler(batchProgressQuery, progress);

  const runEnd = Math.min(input.documentIds.length, cursor + DOCUMENTS_PER_RUN);
  while (cursor < runEnd || inFlight.size > 0) {
    while (cursor < runEnd && inFlight.size < window) {
      const documentId = input.documentIds[cursor++]!;
      const handle: ChildWorkflowHandle<typeof ingestDocument> = await startChild(ingestDocument, {
        workflowId: `ingest-${documentId}`,
        args: [{ documentId, workspaceId: input.workspaceId, profile: input.profile, llmTaskQueue: input.llmTaskQueue, chunkTokens: input.chunkTokens, overlapTokens: input.overlapTokens, budget: input.budget }],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      inFlight.set(
        documentId,
        handle.result().then(
          (r) => {
            if (r.status === 'cancelled') done.cancelled++;
            else if (r.status === 'rejected') done.rejected++;
            else done.completed++;
          },
          () => {
            done.failed++;
          },
        ).finally(() => {
          inFlight.delete(documentId);
        }),
      );
    }
    if (inFlight.size > 0) await Promise.race(inFlight.values());
  }
  if (cursor < input.documentIds.length) {
    await continueAsNew<typeof ingestBatch>({ ...input, cursor, done });
  }
  return progress();
}
