import { COLLECTIONS, existingCollection } from '../adapters';
import type { Deps } from '../deps';
import { EVENTS_KEPT, EVENTS_STREAM, publishGraphEvent } from './ingest';

/**
 * Removing a document's contribution from every store. Each step is idempotent, so the workflow
 * resumes after a crash at any point; PostgreSQL (which lists what to remove) is cleared last.
 */
export function createDeleteActivities(deps: Deps) {
  const { db, graph, chroma, redis } = deps;

  // Never created: nothing to delete. Any other failure (Chroma unreachable) fails the activity, and
  // Temporal retries it until the store answers: a deletion never completes over orphans.
  const collection = (name: string) => existingCollection(chroma, name);

  const activities = {
    async markDeleting(documentId: string): Promise<{ workspaceId: string } | null> {
      const r = await db.query(`UPDATE documents SET status = 'deleting', updated_at = now() WHERE id = $1 RETURNING workspace_id`, [documentId]);
      return r.rows[0] ? { workspaceId: r.rows[0].workspace_id } : null;
    },

    /** Documents that came out of this one (e-mail attachments): deleted with it. */
    async listChildDocuments(documentId: string): Promise<string[]> {
      return (await db.query<{ id: string }>(`SELECT id FROM documents WHERE parent_id = $1`, [documentId])).rows.map((r) => r.id);
    },

    /** Chunk vectors of the document. */
    async deleteDocumentVectors(documentId: string): Promise<number> {
      const col = await collection(COLLECTIONS.chunks);
      if (!col) return 0;
      const before = await col.get({ where: { document_id: documentId }, include: [] });
      if (before.ids.length) await col.delete({ ids: before.ids });
      return before.ids.length;
    },

    /**
     * The document's graph: its chunks and their mentions go; relations lose the evidence that came
     * from its chunks (and vanish when none is left); entities no other chunk mentions go.
     */
    async deleteDocumentGraph(documentId: string, workspaceId: string): Promise<{ chunks: number; relationsRemoved: number; relationsUpdated: number; entitiesRemoved: number }> {
      const session = graph.session();
      try {
        const { removed, ...result } = await session.executeWrite(async (tx) => {
          const chunkIds = (await tx.run(`MATCH (:Document {id: $id})-[:CONTAINS]->(c:Chunk) RETURN collect(c.id) AS ids`, { id: documentId })).records[0]?.get('ids') as string[];
          // Entities the document's chunks mention: candidates to become orphans.
          const candidates = (
            await tx.run(`MATCH (:Document {id: $id})-[:CONTAINS]->(:Chunk)-[:MENTIONS]->(e:Entity) RETURN collect(DISTINCT e.id) AS ids`, { id: documentId })
          ).records[0]?.get('ids') as string[];
          const rel = await tx.run(
            `MATCH (a:Entity {workspace_id: $ws})-[r:RELATED_TO]->(b:Entity)
             WHERE any(x IN r.evidence WHERE x IN $chunks)
             SET r.evidence = [x IN r.evidence WHERE NOT x IN $chunks]
             SET r.weight = size(r.evidence)
             WITH r, size(r.evidence) = 0 AS empty
             FOREACH (_ IN CASE WHEN empty THEN [1] ELSE [] END | DELETE r)
             RETURN sum(CASE WHEN empty THEN 1 ELSE 0 END) AS removed, sum(CASE WHEN empty THEN 0 ELSE 1 END) AS updated`,
            { ws: workspaceId, chunks: chunkIds ?? [] },
          );
          await tx.run(`MATCH (:Document {id: $id})-[:CONTAINS]->(c:Chunk) DETACH DELETE c`, { id: documentId });
          await tx.run(`MATCH (d:Document {id: $id}) DETACH DELETE d`, { id: documentId });
          const orphans = await tx.run(
            `MATCH (e:Entity) WHERE e.id IN $ids AND NOT (e)<-[:MENTIONS]-(:Chunk)
             WITH e, e.id AS id, e.name AS name, e.type AS type DETACH DELETE e
             RETURN count(id) AS n, collect({id: id, name: name, type: type})[0..200] AS removed`,
            { ids: candidates ?? [] },
          );
          return {
            chunks: chunkIds?.length ?? 0,
            relationsRemoved: Number(rel.records[0]?.get('removed') ?? 0),
            relationsUpdated: Number(rel.records[0]?.get('updated') ?? 0),
            entitiesRemoved: Number(orphans.records[0]?.get('n') ?? 0),
            removed: (orphans.records[0]?.get('removed') ?? []) as { id: string; name: string; type: string }[],
          };
        });
        if (result.chunks || result.entitiesRemoved || result.relationsRemoved || result.relationsUpdated) {
          await publishGraphEvent(redis, db, {
            document_id: documentId,
            workspace_id: workspaceId,
            change: 'removed',
            entities_removed: removed,
            entity_count: result.entitiesRemoved,
            relationships_removed: result.relationsRemoved,
            relationships_updated: result.relationsUpdated,
          });
        }
        return result;
      } finally {
        await session.close();
      }
    },

    /** Entity vectors whose entity no longer exists in the graph (checked, so a retry is safe). */
    async deleteOrphanEntityVectors(documentId: string): Promise<number> {
      const ids = (await db.query<{ entity_id: string }>(`SELECT entity_id FROM document_entities WHERE document_id = $1`, [documentId])).rows.map((r) => r.entity_id);
      if (!ids.length) return 0;
      const alive = new Set(
        ((await graph.executeQuery(`MATCH (e:Entity) WHERE e.id IN $ids RETURN collect(e.id) AS ids`, { ids })).records[0]?.get('ids') as string[]) ?? [],
      );
      const dead = ids.filter((id) => !alive.has(id));
      const col = await collection(COLLECTIONS.entities);
      if (col && dead.length) await col.delete({ ids: dead });
      return dead.length;
    },

    /** The record, the bytes, chunks and bookkeeping (cascading), last. */
    async deleteDocumentRecord(documentId: string, workspaceId: string): Promise<boolean> {
      const r = await db.query(`DELETE FROM documents WHERE id = $1 RETURNING owner_id, visibility`, [documentId]);
      await redis.incr(`neuronode:corpus-version:${workspaceId}`);
      const d = r.rows[0];
      await redis.xadd(
        EVENTS_STREAM, 'MAXLEN', '~', EVENTS_KEPT, '*', 'event',
        JSON.stringify({ document_id: documentId, workspace_id: workspaceId, stage: 'deleted', status: 'completed', owner_id: d?.owner_id ?? null, visibility: d?.visibility ?? 'organisation', at: new Date().toISOString() }),
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** Whatever a failed or cancelled run wrote outside PostgreSQL's own record. */
    async cleanupDocumentData(documentId: string, workspaceId: string): Promise<void> {
      await activities.deleteDocumentVectors(documentId);
      await activities.deleteDocumentGraph(documentId, workspaceId);
      await activities.deleteOrphanEntityVectors(documentId);
      await db.query(`DELETE FROM chunks WHERE document_id = $1`, [documentId]);
      await db.query(`DELETE FROM document_entities WHERE document_id = $1`, [documentId]);
      await db.query(`DELETE FROM document_relations WHERE document_id = $1`, [documentId]);
      await db.query(`UPDATE documents SET counts = '{}'::jsonb WHERE id = $1`, [documentId]);
    },
  };
  return activities;
}
