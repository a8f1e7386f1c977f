import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { migrate, ensureGraphSchema } from './adapters';
import { createActivities } from './activities';
import { taskQueues } from './config';
import type { Deps } from './deps';

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

/** Applies the PostgreSQL migrations and the Neo4j schema; idempotent. */
export async function prepareStores(deps: Deps): Promise<void> {
  await migrate(deps.db);
  await ensureGraphSchema(deps.graph);
}

/**
 * The worker of this process: workflows and every activity on the main queue. LLM-bound activities
 * get their own queue in a later step; for now one bounded worker serves both.
 */
export async function createWorker(deps: Deps, opts: { identity?: string } = {}): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime(deps.env.LOG_LEVEL);
  const connection = await NativeConnection.connect({ address: deps.env.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: deps.env.TEMPORAL_NAMESPACE,
    taskQueue: taskQueues(deps.env).main,
    workflowBundle: await workflowBundle(),
    activities: createActivities(deps),
    // Two cores: a handful of concurrent activities keeps the stores busy without starving the models.
    maxConcurrentActivityTaskExecutions: 8,
    maxConcurrentWorkflowTaskExecutions: 20,
    identity: opts.identity,
  });
  return { worker, connection };
}

let runtimeInstalled = false;
/** The SDK runtime logs at our level (once per process; the SDK refuses a second install). */
function installRuntime(level: 'debug' | 'info' | 'warn' | 'error'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR') });
  } catch {
    // Already installed by an earlier worker in this process.
  }
}
