import { hostname } from 'node:os';
import { loadConfigOrExit, taskQueues } from './config';
import { closeDeps, createDeps } from './deps';
import { createWorkers, prepareStores } from './worker-setup';

async function main(): Promise<void> {
  const env = loadConfigOrExit();
  const deps = await createDeps(env, { temporal: false });
  await prepareStores(deps);
  // Host and process: unique across machines and containers (where every process may be pid 1).
  const identity = `worker-${process.pid}@${hostname()}`;
  const workers = await createWorkers(deps, { identity });
  const stop = () => workers.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const queues = taskQueues(env);
  const polled = env.WORKER_QUEUES === 'all' ? `${queues.main} and ${queues.llm}` : queues[env.WORKER_QUEUES];
  console.log(`neuronode worker ${identity}: polling ${env.TEMPORAL_ADDRESS} (${env.TEMPORAL_NAMESPACE}) on ${polled}`);
  try {
    await workers.run();
  } finally {
    await workers.connection.close();
    await closeDeps(deps);
  }
}

main().catch((err) => {
  console.error('neuronode worker failed:', err);
  process.exit(1);
});
