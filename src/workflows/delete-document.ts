import { ParentClosePolicy, executeChild, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const stores = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '20s',
  // Deletion must finish: it retries through store outages for as long as it takes.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * Removes a document from Chroma, Neo4j and PostgreSQL consistently. Each step is idempotent and
 * PostgreSQL (which records what belongs to the document) is cleared last, so a crash at any point
 * resumes to the same end state.
 */
export async function deleteDocument(input: { documentId: string }): Promise<Record<string, unknown>> {
  const doc = await stores.markDeleting(input.documentId);
  if (!doc) return { deleted: false };
  // Attachments first: PostgreSQL would cascade their records, but their vectors and graph need the same care.
  for (const child of await stores.listChildDocuments(input.documentId)) {
    await executeChild(deleteDocument, { workflowId: `delete-${child}`, args: [{ documentId: child }], parentClosePolicy: ParentClosePolicy.TERMINATE });
  }
  const vectors = await stores.deleteDocumentVectors(input.documentId);
  const graph = await stores.deleteDocumentGraph(input.documentId, doc.workspaceId);
  const entityVectors = await stores.deleteOrphanEntityVectors(input.documentId);
  await stores.deleteDocumentRecord(input.documentId, doc.workspaceId);
  return { deleted: true, vectors, entityVectors, ...graph };
}
