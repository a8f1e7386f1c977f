import type { Pool } from 'pg';
import type Redis from 'ioredis';
import { ASSIGNMENTS_VERSION_KEY } from '../../src/adapters/llm';
import { transaction } from '../../src/adapters/postgres';

/**
 * Model assignments are installation-wide: one a test file makes (by hand, through the fuzzer or by
 * an optimisation run) routes every model call of the files after it. A file that may change them
 * takes this snapshot first and restores it at its end, whatever failed in between.
 */
export async function snapshotModelAssignments(db: Pool, redis: Redis): Promise<() => Promise<void>> {
  const before = (await db.query(`SELECT task, profile, model, source, reason, updated_by, updated_at FROM model_assignments`)).rows;
  return async () => {
    await transaction(db, async (c) => {
      await c.query(`DELETE FROM model_assignments`);
      await c.query(
        `INSERT INTO model_assignments (task, profile, model, source, reason, updated_by, updated_at)
         SELECT task, profile, model, source, reason, updated_by, updated_at FROM jsonb_to_recordset($1::jsonb)
           AS r(task text, profile text, model text, source text, reason jsonb, updated_by uuid, updated_at timestamptz)`,
        [JSON.stringify(before)],
      );
    });
    // Every process reroutes at once.
    await redis.incr(ASSIGNMENTS_VERSION_KEY);
  };
}
