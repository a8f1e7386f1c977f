import { asyncLocalStorage } from '@temporalio/activity';
import type { Deps } from '../deps';
import { createBudgetActivities } from './budget';
import { createDeleteActivities } from './delete';
import { createIngestActivities } from './ingest';
import { createOptimizeActivities } from './optimize';
import { createQueryActivities } from './query';
import { createSystemActivities } from './system';
import { createVectorActivities } from './vectors';

/**
 * Every activity heartbeats while it runs, so a worker that dies (kill -9, OOM, a lost machine) is
 * noticed within the heartbeat timeout instead of the much longer start-to-close timeout, and its
 * activity is retried on another worker.
 */
export const HEARTBEAT_EVERY_MS = 3000;

function withHeartbeats<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const out = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (...args: never[]) => {
      // Undefined when called outside an activity (a script calling it directly): no heartbeats.
      const ctx = asyncLocalStorage.getStore();
      // Local activities have no heartbeats (the workflow task itself times them).
      const timer = ctx && !ctx.info.isLocal ? setInterval(() => ctx!.heartbeat(), HEARTBEAT_EVERY_MS) : undefined;
      try {
        return await fn(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return out as T;
}

/** All activities, built from injected dependencies; workflows import this type only. */
export function createActivities(deps: Deps) {
  return withHeartbeats({
    ...createSystemActivities(deps),
    ...createIngestActivities(deps),
    ...createDeleteActivities(deps),
    ...createQueryActivities(deps),
    ...createOptimizeActivities(deps),
    ...createBudgetActivities(deps),
    ...createVectorActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
export { FAST_PROFILE, EVENTS_CHANNEL, documentIdFor, chunkId, type IngestProfile } from './ingest';
