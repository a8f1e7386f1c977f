/**
 * Before a test run: workflows still running on test task queues (`test-…`) belong to an earlier run
 * that was killed before its files' teardown could end them. No other run shares the stack, so they
 * are terminated: left alone they keep document ids busy on queues no worker polls any more. Documents
 * whose ingestion or deletion workflow no longer runs (those, or any terminated earlier) but whose record
 * still says queued, processing or deleting are marked failed, so a test that uploads the same bytes can
 * delete them (a deletion started again finishes what the abandoned one began).
 */
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { Pool } from 'pg';
import { makeDeleteWorkflowId } from '../src/domain/ids';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { terminateRunning } = require('./temporal-work') as { terminateRunning: (c: Client, q: string | null, reason: string, keep?: (w: { taskQueue: string }) => boolean) => Promise<number> };

async function main() {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' });
    const ended = await terminateRunning(client, null, 'left running by an earlier, killed test run', (w) => !w.taskQueue.startsWith('test-'));
    if (ended) console.error(`[test] terminated ${ended} workflow(s) an earlier, killed test run left on its task queues`);
    const pool = new Pool({ connectionString: process.env.DATABASE_URL });
    try {
      const open = (
        await pool.query<{ id: string; status: string; workflow_id: string }>(
          `SELECT id, status, workflow_id FROM documents WHERE status IN ('queued', 'processing', 'deleting') AND workflow_id IS NOT NULL`,
        )
      ).rows;
      let failed = 0;
      for (const d of open) {
        // An ingestion runs under the document's workflow_id, a deletion under its own id.
        const workflowId = d.status === 'deleting' ? makeDeleteWorkflowId(d.id) : d.workflow_id;
        let running = false;
        try {
          running = (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (running) continue;
        const error = { type: 'Abandoned', message: 'its ingestion or deletion workflow ended without finishing (an earlier test run was killed); delete it again to finish', stage: 'unknown' };
        const r = await pool.query(`UPDATE documents SET status = 'failed', error = $2, updated_at = now() WHERE id = $1 AND status IN ('queued', 'processing', 'deleting')`, [d.id, JSON.stringify(error)]);
        failed += r.rowCount ?? 0;
      }
      if (failed) console.error(`[test] marked ${failed} document(s) failed whose ingestion or deletion an earlier, killed test run left unfinished`);
    } finally {
      await pool.end();
    }
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
