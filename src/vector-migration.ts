import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { COLLECTIONS, existingCollection } from './adapters';
import type { Deps } from './deps';
import { taskQueues, type Env } from './config';
import { VECTOR_MIGRATION_WORKFLOW_ID } from './domain/ids';
import { EMBEDDING_FOR } from './domain/model-aliases';

/**
 * Re-embedding after an embedding model change. Each Chroma collection records the model and
 * dimension of its vectors (src/adapters/chroma.ts) and refuses vectors of another; when the model
 * an embedding alias serves is no longer the one its collection records, the migrateVectors workflow
 * drops that collection and writes every completed document's vectors again with the model served now.
 * The API starts the workflow whenever it starts (it returns at once when nothing changed), and
 * `npm run migrate:vectors` runs it to the end from a shell.
 */
export interface VectorMigrationStep {
  collection: string;
  /** What the collection holds: "model/dimension". */
  from: string;
  /** What the alias serves now. */
  to: string;
}

/** A collection and the embedding alias whose vectors it holds. */
export interface VectorTarget {
  collection: string;
  alias: string;
}

export const VECTOR_TARGETS: readonly VectorTarget[] = [
  { collection: COLLECTIONS.chunks, alias: EMBEDDING_FOR.chunks },
  { collection: COLLECTIONS.entities, alias: EMBEDDING_FOR.entities },
];

/** "model/dimension" of a collection's vectors, or null when it was never created (nothing to migrate). */
async function recorded(deps: Pick<Deps, 'chroma'>, collection: string): Promise<string | null> {
  const col = await existingCollection(deps.chroma, collection);
  const meta = col?.metadata ?? {};
  return col ? `${String(meta.embedding_model)}/${String(meta.embedding_dimension)}` : null;
}

/** The collections whose vectors come from another model than the one their alias serves now. */
export async function vectorCollectionsToMigrate(deps: Pick<Deps, 'chroma' | 'llm'>, targets: readonly VectorTarget[] = VECTOR_TARGETS): Promise<VectorMigrationStep[]> {
  const steps: VectorMigrationStep[] = [];
  for (const t of targets) {
    const from = await recorded(deps, t.collection);
    if (from === null) continue;
    const { vectors, model } = await deps.llm.embed(t.alias, ['embedding model probe'], { activity: 'vectorCollectionsToMigrate' });
    const to = `${model}/${vectors[0]!.length}`;
    if (from !== to) steps.push({ collection: t.collection, from, to });
  }
  return steps;
}

/** Drops a collection if it still holds vectors of another model than `to` (idempotent). */
export async function dropStaleCollection(deps: Pick<Deps, 'chroma'>, step: VectorMigrationStep): Promise<boolean> {
  const now = await recorded(deps, step.collection);
  if (now === null || now === step.to) return false;
  await deps.chroma.deleteCollection({ name: step.collection });
  return true;
}

/** Starts the migration workflow, or joins the one running; returns its run id. */
export async function startVectorMigration(temporal: Client, env: Env): Promise<{ workflowId: string; runId: string }> {
  const handle = await temporal.workflow.start('migrateVectors', {
    taskQueue: taskQueues(env).main,
    workflowId: VECTOR_MIGRATION_WORKFLOW_ID,
    args: [{}],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
}
