import { loadConfigOrExit } from './config';
import { closeDeps, createDeps } from './deps';
import type { MigrateVectorsResult } from './workflows';
import { startVectorMigration } from './vector-migration';
import { createWorkers, prepareStores } from './worker-setup';

/**
 * Runs the re-embedding migration (src/vector-migration.ts) to its end with a worker of its own, and
 * says what it did: `npm run migrate:vectors`, and scripts/test.sh before the tests. A running
 * migration (started by the API) is joined, not started twice.
 */
async function main(): Promise<void> {
  const env = loadConfigOrExit();
  const deps = await createDeps(env);
  const workers = await createWorkers(deps, { identity: `migrate-vectors-${process.pid}` });
  const running = workers.run();
  try {
    await prepareStores(deps);
    const { workflowId, runId } = await startVectorMigration(deps.temporal!, env);
    const result = (await deps.temporal!.workflow.getHandle(workflowId, runId, { followRuns: true }).result()) as MigrateVectorsResult;
    console.log(
      result.steps.length
        ? `neuronode migrate:vectors: ${result.steps.map((s) => `${s.collection} ${s.from} → ${s.to}`).join('; ')}; ${result.reembedded} documents re-embedded`
        : 'neuronode migrate:vectors: every collection holds the vectors of the model its alias serves',
    );
  } finally {
    workers.shutdown();
    await running;
    await workers.connection.close();
    await closeDeps(deps);
  }
}

main().catch((err) => {
  console.error('neuronode migrate:vectors failed:', err);
  process.exit(1);
});
