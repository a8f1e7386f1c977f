import { loadConfigOrExit, taskQueues } from './config';
import { closeDeps, createDeps } from './deps';
import { createWorkers, prepareStores } from './worker-setup';

async function main(): Promise<void> {
  const env = loadConfigOrExit();
  const deps = await createDeps(env, { temporal: false });
  await prepareStores(deps);
  const workers = await createWorkers(deps, { identity: `worker-${process.pid}` });
  const stop = () => workers.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const queues = taskQueues(env);
  console.log(`neuronode worker: polling ${env.TEMPORAL_ADDRESS} (${env.TEMPORAL_NAMESPACE}) on ${queues.main} and ${queues.llm}`);
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
