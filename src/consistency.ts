import { WorkflowNotFoundError } from '@temporalio/client';
import { createDeleteActivities } from './activities/delete';
import { COLLECTIONS, existingCollection } from './adapters';
import type { Deps } from './deps';
import { makeDeleteWorkflowId } from './domain/ids';

/**
 * Whether PostgreSQL, Chroma and Neo4j agree about every document: what `npm run check:consistency`
 * reports and, asked to, repairs.
 *
 * - A completed document has as many chunk vectors in Chroma and chunk nodes in Neo4j as chunk rows
 *   in PostgreSQL; a failed, cancelled or rejected one has none (`mismatched`; repaired by reprocessing or
 *   deleting the document, not by this check).
 * - A document queued, processing or deleting has a workflow that still runs (`abandoned` when not;
 *   repaired by marking it failed, so deleting or reprocessing it finishes the job).
 * - Every chunk vector and every Document node belongs to a document PostgreSQL knows (`orphaned`;
 *   repaired by removing them with the deletion workflow's own steps).
 */
export interface ConsistencyReport {
  workspace: string | null;
  documents: number;
  completed: number;
  consistent: boolean;
  mismatched: { id: string; workspace_id: string; status: string; chunks: number; vectors: number; graph_chunks: number }[];
  abandoned: { id: string; workspace_id: string; status: string; workflow_id: string }[];
  orphaned: { document_id: string; vectors: number; graph_chunks: number; graph_node: boolean }[];
  repaired: { abandoned_marked_failed: number; orphans_removed: number } | null;
}

const PAGE = 5000;

/** Chunk vectors per document id (of one workspace, or all), read from Chroma's metadata in pages. */
async function vectorsPerDocument(deps: Deps, workspace: string | null): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const col = await existingCollection(deps.chroma, COLLECTIONS.chunks);
  if (!col) return counts; // nothing was ever embedded
  for (let offset = 0; ; offset += PAGE) {
    const page = await col.get({ include: ['metadatas'], limit: PAGE, offset, ...(workspace ? { where: { workspace_id: workspace } } : {}) });
    for (const m of page.metadatas) {
      const id = typeof m?.document_id === 'string' ? m.document_id : '(no document_id)';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    if (page.ids.length < PAGE) break;
  }
  return counts;
}

/** Chunk nodes per Document node (of one workspace, or all) in Neo4j. */
async function graphChunksPerDocument(deps: Deps, workspace: string | null): Promise<Map<string, number>> {
  const { records } = await deps.graph.executeQuery(
    `MATCH (d:Document) WHERE $ws IS NULL OR d.workspace_id = $ws
     OPTIONAL MATCH (d)-[:CONTAINS]->(c:Chunk)
     RETURN d.id AS id, count(c) AS n`,
    { ws: workspace },
  );
  return new Map(records.map((r) => [r.get('id') as string, Number(r.get('n'))]));
}

async function workflowRunning(deps: Deps, workflowId: string): Promise<boolean> {
  if (!deps.temporal) throw new Error('the consistency check needs a Temporal client');
  try {
    return (await deps.temporal.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export async function checkConsistency(deps: Deps, opts: { workspace?: string | null; repair?: boolean } = {}): Promise<ConsistencyReport> {
  const workspace = opts.workspace ?? null;
  const docs = (
    await deps.db.query<{ id: string; workspace_id: string; status: string; workflow_id: string | null; chunks: number }>(
      `SELECT d.id, d.workspace_id, d.status, d.workflow_id, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)::int AS chunks
         FROM documents d WHERE $1::text IS NULL OR d.workspace_id = $1`,
      [workspace],
    )
  ).rows;
  const [vectors, graphChunks] = await Promise.all([vectorsPerDocument(deps, workspace), graphChunksPerDocument(deps, workspace)]);
  const known = new Set(docs.map((d) => d.id));

  const mismatched: ConsistencyReport['mismatched'] = [];
  const abandoned: ConsistencyReport['abandoned'] = [];
  for (const d of docs) {
    const v = vectors.get(d.id) ?? 0;
    const g = graphChunks.get(d.id) ?? 0;
    if (d.status === 'completed') {
      if (v !== d.chunks || g !== d.chunks) mismatched.push({ id: d.id, workspace_id: d.workspace_id, status: d.status, chunks: d.chunks, vectors: v, graph_chunks: g });
    } else if (['failed', 'cancelled', 'rejected'].includes(d.status)) {
      // A run that failed, was cancelled or rejected removed what it wrote outside its record.
      if (v !== 0 || g !== 0) mismatched.push({ id: d.id, workspace_id: d.workspace_id, status: d.status, chunks: d.chunks, vectors: v, graph_chunks: g });
    } else if (['queued', 'processing', 'deleting'].includes(d.status) && d.workflow_id) {
      // An ingestion runs under the document's workflow id, a deletion under its own.
      const workflowId = d.status === 'deleting' ? makeDeleteWorkflowId(d.id) : d.workflow_id;
      if (!(await workflowRunning(deps, workflowId))) abandoned.push({ id: d.id, workspace_id: d.workspace_id, status: d.status, workflow_id: workflowId });
    }
  }
  const orphanIds = [...new Set([...vectors.keys(), ...graphChunks.keys()])].filter((id) => !known.has(id)).sort();
  const orphaned = orphanIds.map((id) => ({ document_id: id, vectors: vectors.get(id) ?? 0, graph_chunks: graphChunks.get(id) ?? 0, graph_node: graphChunks.has(id) }));

  let repaired: ConsistencyReport['repaired'] = null;
  if (opts.repair) {
    let marked = 0;
    for (const d of abandoned) {
      const error = { type: 'Abandoned', message: 'its ingestion or deletion workflow ended without finishing; delete or reprocess it to finish', stage: 'unknown' };
      const r = await deps.db.query(`UPDATE documents SET status = 'failed', error = $2, updated_at = now() WHERE id = $1 AND status = $3`, [d.id, JSON.stringify(error), d.status]);
      marked += r.rowCount ?? 0;
    }
    const del = createDeleteActivities(deps);
    for (const o of orphaned) {
      if (o.vectors) await del.deleteDocumentVectors(o.document_id);
      if (o.graph_node) {
        const ws = (await deps.graph.executeQuery(`MATCH (d:Document {id: $id}) RETURN d.workspace_id AS ws`, { id: o.document_id })).records[0]?.get('ws') as string | undefined;
        await del.deleteDocumentGraph(o.document_id, ws ?? '');
      }
    }
    repaired = { abandoned_marked_failed: marked, orphans_removed: orphaned.length };
  }
  return {
    workspace,
    documents: docs.length,
    completed: docs.filter((d) => d.status === 'completed').length,
    consistent: mismatched.length === 0 && abandoned.length === 0 && orphaned.length === 0,
    mismatched,
    abandoned,
    orphaned,
    repaired,
  };
}
