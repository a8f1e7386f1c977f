import { hostname } from 'node:os';
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { assertMigrated, ensureGraphSchema, temporalTls } from './adapters';
import { migrateGraphScopes } from './adapters/graph-scopes';
import { createActivities } from './activities';
import { taskQueues } from './config';
import type { Deps } from './deps';
import { ActivityLatencyInterceptor } from './activity-metrics';

let bundle: Promise<WorkflowBundle> | undefined;
/** Bundles the workflow code once per process (webpack; a few seconds). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietBundlerLogger });
  return bundle;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

/**
 * Checks that the PostgreSQL schema is current (the migrations run before, as the schema's owner:
 * `src/migrate.ts`) and applies the Neo4j schema; idempotent.
 */
export async function prepareStores(deps: Deps): Promise<void> {
  await assertMigrated(deps.db);
  await ensureGraphSchema(deps.graph);
  const scoped = await migrateGraphScopes(deps.db, deps.graph, deps.chroma);
  if (scoped) console.log(`neuronode: graph scope labels given to ${scoped.documents} documents and ${scoped.entities} entities; ${scoped.detached} relationships across scopes removed or trimmed; ${scoped.vectors} entity vectors scoped`);
}

/**
 * The workers of this process: workflows and store-bound activities on the main queue, and the
 * LLM-bound activities on their own queue with a small concurrency (the model server has two slots;
 * more in flight would only queue there and hit timeouts).
 */
export interface Workers {
  /** The workers this process runs: the main queue's, the model queue's, or both (WORKER_QUEUES). */
  workers: Worker[];
  run(): Promise<void>;
  shutdown(): void;
  connection: NativeConnection;
}

export async function createWorkers(deps: Deps, opts: { identity?: string; llmConcurrency?: number } = {}): Promise<Workers> {
  installRuntime(deps.env.LOG_LEVEL);
  const connection = await NativeConnection.connect({ address: deps.env.TEMPORAL_ADDRESS, tls: temporalTls(deps.env) });
  const activities = createActivities(deps);
  const queues = taskQueues(deps.env);
  // Temporal's own default identity when none is given, so the metrics name the worker as Temporal does.
  const identity = opts.identity ?? `${process.pid}@${hostname()}`;
  // Every activity's latency, for /api/metrics (shared across worker processes through Redis).
  const interceptors = { activity: [(ctx: import('@temporalio/activity').Context) => ({ inbound: new ActivityLatencyInterceptor(ctx, deps.redis, identity) })] };
  // Both workers' common options. On SIGTERM (a deploy, a scale-down) the worker stops taking work
  // and running activities get shutdownGraceTime to finish before they are asked to cancel. Most
  // activities do not observe cancellation yet: those run to their end and the worker waits for them
  // (tests/integration/worker-drain.test.ts), whatever the grace; what a SIGKILL cuts off is retried
  // by another worker, as after a crash.
  const common = { connection, namespace: deps.env.TEMPORAL_NAMESPACE, activities, identity, interceptors, shutdownGraceTime: deps.env.WORKER_SHUTDOWN_GRACE_MS };
  const workers: Worker[] = [];
  if (deps.env.WORKER_QUEUES !== 'llm') {
    // Two cores: a handful of concurrent activities keeps the stores busy without starving the models.
    workers.push(await Worker.create({ ...common, taskQueue: queues.main, workflowBundle: await workflowBundle(), maxConcurrentActivityTaskExecutions: 8, maxConcurrentWorkflowTaskExecutions: 20 }));
  }
  if (deps.env.WORKER_QUEUES !== 'main') {
    workers.push(await Worker.create({ ...common, taskQueue: queues.llm, maxConcurrentActivityTaskExecutions: opts.llmConcurrency ?? 2 }));
  }
  return {
    workers,
    connection,
    async run() {
      await Promise.all(workers.map((w) => w.run()));
    },
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}

let runtimeInstalled = false;
/** The SDK runtime logs at our level (once per process; the SDK refuses a second install). */
function installRuntime(level: 'debug' | 'info' | 'warn' | 'error'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR') });
  } catch (err) {
    // Already installed (or instantiated) by an earlier worker in this process.
    if (!(err instanceof IllegalStateError)) throw err;
  }
}
