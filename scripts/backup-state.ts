/**
 * Used by scripts/backup.sh before it stops the services: waits until no workflow that writes to the
 * stores is running (ingestion, deletion, batch questions, answers), then prints what the manifest
 * records — each workspace's corpus version and document counts by status — as JSON on stdout.
 *
 *   BACKUP_QUIESCE_TIMEOUT_S (default 600): how long to wait for running work to finish.
 */
import { parseConfig } from '../src/config';
import { closeDeps, createDeps } from '../src/deps';

const WRITERS = ['ingestDocument', 'ingestBatch', 'deleteDocument', 'batchQuery', 'answerQuery'];

async function main() {
  const env = parseConfig(process.env);
  const deps = await createDeps(env, { temporal: true });
  try {
    const timeoutS = Number(process.env.BACKUP_QUIESCE_TIMEOUT_S ?? 600);
    const until = Date.now() + timeoutS * 1000;
    const query = `ExecutionStatus = 'Running' AND WorkflowType IN (${WRITERS.map((w) => `'${w}'`).join(', ')})`;
    for (let waited = false; ; waited = true) {
      const running = (await deps.temporal!.workflow.count(query)).count;
      if (running === 0) break;
      if (Date.now() > until) {
        const names: string[] = [];
        for await (const w of deps.temporal!.workflow.list({ query })) {
          names.push(`${w.type} ${w.workflowId}`);
          if (names.length >= 10) break;
        }
        throw new Error(`${running} workflow(s) still running after ${timeoutS} s (${names.join(', ')}); the backup waits for running work to finish — try again, or raise BACKUP_QUIESCE_TIMEOUT_S`);
      }
      if (!waited) process.stderr.write(`[backup] waiting for ${running} running workflow(s) to finish\n`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    const docs = (await deps.db.query(`SELECT workspace_id, status, count(*)::int AS n FROM documents GROUP BY 1, 2 ORDER BY 1, 2`)).rows as { workspace_id: string; status: string; n: number }[];
    const workspaces: Record<string, { corpus_version: string; documents: Record<string, number> }> = {};
    for (const r of docs) {
      workspaces[r.workspace_id] ??= { corpus_version: (await deps.redis.get(`neuronode:corpus-version:${r.workspace_id}`)) ?? '0', documents: {} };
      workspaces[r.workspace_id]!.documents[r.status] = r.n;
    }
    const pg = (await deps.db.query(`SHOW server_version`)).rows[0].server_version as string;
    console.log(JSON.stringify({ postgres_version: pg, workspaces }));
  } finally {
    await closeDeps(deps);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`[backup] ${err.message}\n`);
  process.exit(1);
});
