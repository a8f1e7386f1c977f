import type { Pool, PoolClient } from 'pg';
import type Redis from 'ioredis';
import { ASSIGNMENTS_VERSION_KEY } from '../../src/adapters/llm';

type Row = Record<string, unknown>;
// The statements the test environment uses too (tests/model-assignments.js).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain-JS module the Jest environment loads too
const { readAssignments, replaceAssignments } = require('../model-assignments') as {
  readAssignments: (db: Pool) => Promise<Row[]>;
  replaceAssignments: (client: PoolClient, rows: Row[]) => Promise<void>;
};

/**
 * Model assignments are installation-wide: one a test file makes (by hand, through the fuzzer or by
 * an optimisation run) routes every model call of the files after it. A file that may change them
 * takes this snapshot first and restores it at its end, whatever failed in between.
 */
export async function snapshotModelAssignments(db: Pool, redis: Redis): Promise<() => Promise<void>> {
  const before = await readAssignments(db);
  return async () => {
    const client = await db.connect();
    try {
      await replaceAssignments(client, before);
    } finally {
      client.release();
    }
    // Every process reroutes at once.
    await redis.incr(ASSIGNMENTS_VERSION_KEY);
  };
}
