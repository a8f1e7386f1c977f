const { WorkflowNotFoundError } = require('@temporalio/client');

/**
 * Terminates every running workflow that the visibility query (or none: all) finds and `keep` does not
 * spare; returns how many it ended. A workflow that ends between the listing and its termination is
 * not an error. Shared by the test environment (a file's own queues) and the pre-run clean-up.
 */
async function terminateRunning(client, query, reason, keep = () => false) {
  let ended = 0;
  const running = `ExecutionStatus = 'Running'`;
  for await (const w of client.workflow.list({ query: query ? `${query} AND ${running}` : running })) {
    if (keep(w)) continue;
    try {
      await client.workflow.getHandle(w.workflowId, w.runId).terminate(reason);
      ended++;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return ended;
}

module.exports = { terminateRunning };
