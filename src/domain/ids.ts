import { createHash, randomUUID } from 'node:crypto';

/**
 * Every workflow id and derived record id is built here, so what each id deduplicates is stated once.
 */

/** A system check is never deduplicated: each request runs a fresh one. */
export function makeSystemCheckWorkflowId(checkId: string): string {
  return `system-check-${checkId}`;
}

export function newId(): string {
  return randomUUID();
}

/** A stable short hash of its parts (for ids that must be the same on every retry). */
export function stableId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u241f')).digest('hex').slice(0, 32);
}

/** One ingestion workflow per document (the document id itself derives from workspace + checksum). */
export function makeIngestWorkflowId(documentId: string): string {
  return `ingest-${documentId}`;
}

/** One deletion per document; a second delete request joins the running one. */
export function makeDeleteWorkflowId(documentId: string): string {
  return `delete-${documentId}`;
}

/** A batch is its own unit of work: each request starts a new one. */
export function makeBatchWorkflowId(batchId: string): string {
  return `ingest-batch-${batchId}`;
}

/** One re-embedding migration at a time: a second start (another API replica) joins the running one. */
export const VECTOR_MIGRATION_WORKFLOW_ID = 'migrate-vectors';
