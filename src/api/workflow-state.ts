import { QueryNotRegisteredError, QueryRejectedError, WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';

/**
 * The live progress of a workflow, for a status answer that also has the stored record: null when the
 * workflow is gone or cannot answer the query (it ended, or runs code without that query). Temporal
 * itself unreachable, or no worker to answer, also gives null (the stored state is served) and is logged.
 */
export async function liveProgress<T = unknown>(handle: WorkflowHandle, query: string): Promise<T | null> {
  try {
    return await handle.query<T>(query);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError || err instanceof QueryRejectedError) return null;
    console.warn(`the progress of workflow ${handle.workflowId} could not be queried (${(err as Error).message}); the stored state is served`);
    return null;
  }
}

/** The result of a closed workflow, or null when it failed, was cancelled or terminated, or is gone. */
export async function closedResult<T = unknown>(handle: WorkflowHandle): Promise<T | null> {
  try {
    return (await handle.result()) as T;
  } catch (err) {
    if (err instanceof WorkflowFailedError || err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
