const { basename } = require('node:path');
const { randomBytes } = require('node:crypto');
const { TestEnvironment } = require('jest-environment-node');
const Redis = require('ioredis');
const { Client: PgClient } = require('pg');
const { Client, Connection, ScheduleNotFoundError } = require('@temporalio/client');
const { terminateRunning } = require('./temporal-work');
const { VERSION_KEY, readAssignments, replaceAssignments } = require('./model-assignments');

/**
 * The Node test environment, with what keeps test files independent of each other whatever order
 * they run in and whatever fails first:
 *
 * - Task queues of the file's own. TASK_QUEUE_PREFIX is unique per file, and the workers and API
 *   processes a file starts inherit it: a worker can only ever take its own file's activities, never
 *   those of a later file (whose Jest environment it cannot run them in once its own is torn down).
 * - Rate-limit and login-block state starts empty: the per-address and per-user counters and login
 *   blocks one file's requests spent are removed before the next file runs.
 * - Nothing outlives its file. After the file's own afterAll hooks, whatever is still listed in
 *   tests/helpers/teardown.ts (a system, a worker or API process, a tool) is closed, and the file fails
 *   with their names: the leak is reported where it happened. Workflows still running on the file's
 *   task queues (a test that failed half-way) are terminated and its optimisation schedule deleted,
 *   so Temporal keeps nothing of it either.
 * - Model assignments are installation-wide: a file that leaves them other than it found them would
 *   route the model calls of every file after it (an answer test would meet another model). Such a
 *   file fails, naming the assignments it changed, and they are put back.
 */
class IsolatedEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    const slug = basename(context.testPath)
      .replace(/\.test\.[jt]s$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 40);
    this.global.process.env.TASK_QUEUE_PREFIX = `test-${slug}-${randomBytes(3).toString('hex')}`;
  }

  async setup() {
    await super.setup();
    await clearRateLimits(this.global.process.env.REDIS_URL);
    const db = this.global.process.env.DATABASE_URL;
    this.assignmentsBefore = db ? await withDb(db, readAssignments) : undefined;
  }

  async handleTestEvent(event, state) {
    if (event.name !== 'run_describe_finish' || event.describeBlock.parent) return;
    const open = this.global.__neuronodeOpen;
    if (open && open.size > 0) {
      const left = [...open];
      const errors = [];
      for (const r of [...left].reverse()) {
        try {
          await r.close();
        } catch (err) {
          errors.push(`${r.what}: ${err.message}`);
        }
      }
      const names = left.map((r) => r.what).join('; ');
      state.unhandledErrors.push(new Error(`left running after the file's own teardown, now closed: ${names}${errors.length ? ` (closing failed: ${errors.join('; ')})` : ''}`));
    }
    // Only files that started systems or processes have task queues to clean (the lifecycle file,
    // which stops the stack, has none).
    const env = this.global.process.env;
    if (open && env.TEMPORAL_ADDRESS) await endTemporalWork(env.TEMPORAL_ADDRESS, env.TEMPORAL_NAMESPACE || 'default', env.TASK_QUEUE_PREFIX);
    if (open && this.assignmentsBefore && env.DATABASE_URL) {
      const changed = await restoreAssignments(env.DATABASE_URL, env.REDIS_URL, this.assignmentsBefore);
      if (changed.length) state.unhandledErrors.push(new Error(`left the installation's model assignments changed, now restored: ${changed.join('; ')}`));
    }
  }
}

/** Terminates the workflows still running on a file's task queues and deletes its schedule. */
async function endTemporalWork(address, namespace, prefix) {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    await terminateRunning(client, `TaskQueue = '${prefix}-main'`, 'its test file has ended');
    try {
      await client.schedule.getHandle(`${prefix}-optimize-models`).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  } finally {
    await connection.close();
  }
}

/** Removes every rate-limit counter and login block (keys under neuronode:rl:). */
async function clearRateLimits(url) {
  if (!url) return; // unit tests run without the stack
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'neuronode:rl:*', 'COUNT', 500);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Runs `f` with a connected client of the database at `url`. */
async function withDb(url, f) {
  const db = new PgClient({ connectionString: url });
  await db.connect();
  try {
    return await f(db);
  } finally {
    await db.end();
  }
}

/**
 * Puts the assignments back as they were, if they differ, and tells every process to reroute (the
 * version key). Returns what differed, as "task/profile: before → now".
 */
async function restoreAssignments(url, redisUrl, before) {
  const now = await withDb(url, readAssignments);
  const key = (r) => `${r.task}/${r.profile}`;
  const was = new Map(before.map((r) => [key(r), r.model]));
  const is = new Map(now.map((r) => [key(r), r.model]));
  const changed = [...new Set([...was.keys(), ...is.keys()])]
    .filter((k) => was.get(k) !== is.get(k))
    .sort()
    .map((k) => `${k}: ${was.get(k) ?? 'its own model'} → ${is.get(k) ?? 'its own model'}`);
  if (!changed.length) return changed;
  await withDb(url, (db) => replaceAssignments(db, before));
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    await redis.incr(VERSION_KEY);
  } finally {
    redis.disconnect();
  }
  return changed;
}

module.exports = IsolatedEnvironment;
