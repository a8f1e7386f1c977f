/**
 * Before a test run: workflows still running on test task queues (`test-…`) belong to an earlier run
 * that was killed before its files' teardown could end them. No other run shares the stack, so they
 * are terminated: left alone they keep document ids busy on queues no worker polls any more.
 */
const { Client, Connection, WorkflowNotFoundError } = require('@temporalio/client');

async function main() {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' });
    let ended = 0;
    for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      if (!w.taskQueue.startsWith('test-')) continue;
      try {
        await client.workflow.getHandle(w.workflowId, w.runId).terminate('left running by an earlier, killed test run');
        ended++;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err; // it ended between the list and here
      }
    }
    if (ended) console.error(`[test] terminated ${ended} workflow(s) an earlier, killed test run left on its task queues`);
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
