import type { Deps } from '../deps';
import { createDeleteActivities } from './delete';
import { createIngestActivities } from './ingest';
import { createSystemActivities } from './system';

/** All activities, built from injected dependencies; workflows import this type only. */
export function createActivities(deps: Deps) {
  return {
    ...createSystemActivities(deps),
    ...createIngestActivities(deps),
    ...createDeleteActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export { FAST_PROFILE, EVENTS_CHANNEL, documentIdFor, chunkId, type IngestProfile } from './ingest';
