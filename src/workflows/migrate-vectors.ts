import { continueAsNew, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { VectorMigrationStep } from '../vector-migration';

const stores = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  // A migration must finish: it retries through store and gateway outages for as long as it takes.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface MigrateVectorsInput {
  /** Set by continue-as-new: the collections already dropped and the last document re-embedded. */
  steps?: VectorMigrationStep[];
  after?: string;
  reembedded?: number;
}

export interface MigrateVectorsResult {
  steps: VectorMigrationStep[];
  reembedded: number;
}

const PAGE = 100;
const IN_FLIGHT = 4;
/** Pages per run before continuing as new, so the history stays small for any corpus size. */
const PAGES_PER_RUN = 10;

/**
 * Re-embedding after an embedding model change (src/vector-migration.ts): drops every collection whose
 * recorded model is not the one its alias serves now, then writes every completed document's vectors
 * again, in id order, a few at a time. Documents ingested meanwhile get the new model's vectors from
 * their own ingestion. Returns at once when no collection needs it.
 */
export async function migrateVectors(input: MigrateVectorsInput = {}): Promise<MigrateVectorsResult> {
  let steps = input.steps;
  if (!steps) {
    steps = await stores.vectorCollectionsToMigrate();
    if (!steps.length) return { steps, reembedded: 0 };
    for (const step of steps) await stores.dropStaleCollection(step);
    log.info('re-embedding every completed document', { steps });
  }
  let after = input.after ?? '';
  let reembedded = input.reembedded ?? 0;
  for (let page = 0; page < PAGES_PER_RUN; page++) {
    const ids = await stores.completedDocumentsAfter(after, PAGE);
    if (!ids.length) return { steps, reembedded };
    for (let i = 0; i < ids.length; i += IN_FLIGHT) {
      const done = await Promise.all(ids.slice(i, i + IN_FLIGHT).map((id) => stores.reembedDocument(id)));
      reembedded += done.filter((d) => d !== null).length;
    }
    after = ids[ids.length - 1]!;
  }
  return continueAsNew<typeof migrateVectors>({ steps, after, reembedded });
}
