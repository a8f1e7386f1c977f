const { basename } = require('node:path');
const { randomBytes } = require('node:crypto');
const { TestEnvironment } = require('jest-environment-node');
const Redis = require('ioredis');
const { Client, Connection, ScheduleNotFoundError } = require('@temporalio/client');
const { terminateRunning } = require('./temporal-work');

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

module.exports = IsolatedEnvironment;
