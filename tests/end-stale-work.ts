/**
 * Before a test run: workflows still running on test task queues (`test-…`) belong to an earlier run
 * that was killed before its files' teardown could end them. No other run shares the stack, so they
 * are terminated: left alone they keep document ids busy on queues no worker polls any more. Then the
 * consistency check's repair (src/consistency.ts) marks failed the documents whose ingestion or deletion
 * workflow no longer runs — so a test that uploads the same bytes can delete them — and removes vectors
 * and graph nodes of documents that no longer exist.
 */
import type { Client } from '@temporalio/client';
import { parseConfig } from '../src/config';
import { checkConsistency } from '../src/consistency';
import { closeDeps, createDeps } from '../src/deps';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { terminateRunning } = require('./temporal-work') as { terminateRunning: (c: Client, q: string | null, reason: string, keep?: (w: { taskQueue: string }) => boolean) => Promise<number> };

async function main() {
  const deps = await createDeps(parseConfig(process.env));
  try {
    const ended = await terminateRunning(deps.temporal!, null, 'left running by an earlier, killed test run', (w) => !w.taskQueue.startsWith('test-'));
    if (ended) console.error(`[test] terminated ${ended} workflow(s) an earlier, killed test run left on its task queues`);
    const r = await checkConsistency(deps, { repair: true });
    if (r.repaired && (r.repaired.abandoned_marked_failed || r.repaired.orphans_removed)) {
      console.error(`[test] marked ${r.repaired.abandoned_marked_failed} abandoned document(s) failed and removed ${r.repaired.orphans_removed} orphan(s) an earlier, killed test run left`);
    }
    if (r.mismatched.length) console.error(`[test] ${r.mismatched.length} document(s) whose stores disagree (npm run check:consistency lists them)`);
  } finally {
    await closeDeps(deps);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
