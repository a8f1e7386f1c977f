import type { Deps } from '../deps';
import { createSystemActivities } from './system';

/** All activities, built from injected dependencies; workflows import this type only. */
export function createActivities(deps: Deps) {
  return {
    ...createSystemActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
