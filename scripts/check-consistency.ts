/**
 * npm run check:consistency [-- --workspace ID] [--repair] [--json]
 *
 * Whether PostgreSQL, Chroma and Neo4j agree about every document (src/consistency.ts): chunk rows,
 * chunk vectors and chunk nodes of each completed document; no vectors or nodes left by a failed one;
 * no document waiting on a workflow that no longer runs; no vectors or nodes of a document PostgreSQL
 * does not know. `--repair` marks abandoned documents failed and removes orphans, then checks again.
 * Exits 1 while anything is inconsistent, so it can gate a deploy or a drill.
 */
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config';
import { checkConsistency, type ConsistencyReport } from '../src/consistency';
import { closeDeps, createDeps } from '../src/deps';

function print(r: ConsistencyReport, label: string) {
  console.log(`${label}: ${r.documents} documents${r.workspace ? ` in workspace ${r.workspace}` : ''} (${r.completed} completed) — ${r.consistent ? 'consistent' : 'INCONSISTENT'}`);
  for (const m of r.mismatched) console.log(`  mismatched ${m.id} (${m.workspace_id}, ${m.status}): ${m.chunks} chunk rows, ${m.vectors} vectors, ${m.graph_chunks} graph chunks — reprocess or delete it`);
  for (const a of r.abandoned) console.log(`  abandoned  ${a.id} (${a.workspace_id}): ${a.status}, but workflow ${a.workflow_id} is not running`);
  for (const o of r.orphaned) console.log(`  orphaned   ${o.document_id}: ${o.vectors} vectors, ${o.graph_chunks} graph chunks${o.graph_node ? ', a Document node' : ''}, no record`);
  if (r.repaired) console.log(`  repaired: ${r.repaired.abandoned_marked_failed} abandoned document(s) marked failed, ${r.repaired.orphans_removed} orphan(s) removed`);
}

async function main() {
  const { values } = parseArgs({ options: { workspace: { type: 'string' }, repair: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  const deps = await createDeps(parseConfig(process.env));
  try {
    const first = await checkConsistency(deps, { workspace: values.workspace ?? null, repair: values.repair });
    const after = values.repair && !first.consistent ? await checkConsistency(deps, { workspace: values.workspace ?? null }) : null;
    if (values.json) console.log(JSON.stringify(after ? { before: first, after } : first, null, 2));
    else {
      print(first, values.repair ? 'before repair' : 'check');
      if (after) print(after, 'after repair');
    }
    process.exitCode = (after ?? first).consistent ? 0 : 1;
  } finally {
    await closeDeps(deps);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
