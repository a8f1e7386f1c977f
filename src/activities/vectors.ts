import type { Deps } from '../deps';
import { dropStaleCollection, vectorCollectionsToMigrate, type VectorMigrationStep } from '../vector-migration';

/** The re-embedding migration's store steps (src/vector-migration.ts); reembedDocument is an ingestion activity. */
export function createVectorActivities(deps: Deps) {
  return {
    async vectorCollectionsToMigrate(): Promise<VectorMigrationStep[]> {
      return vectorCollectionsToMigrate(deps);
    },

    async dropStaleCollection(step: VectorMigrationStep): Promise<boolean> {
      return dropStaleCollection(deps, step);
    },

    /** Completed documents after `after` in id order, `limit` at most (every workspace). */
    async completedDocumentsAfter(after: string, limit: number): Promise<string[]> {
      const r = await deps.db.query<{ id: string }>(`SELECT id FROM documents WHERE status = 'completed' AND id > $1 ORDER BY id LIMIT $2`, [after, limit]);
      return r.rows.map((x) => x.id);
    },
  };
}
