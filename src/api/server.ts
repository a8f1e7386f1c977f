import { loadConfigOrExit } from '../config';
import { closeDeps, createDeps } from '../deps';
import { prepareStores } from '../worker-setup';
import { createApp } from './app';
import { authenticateUpgrade, ensureFirstAdmin } from './auth';
import { attachWebSockets } from './ws';

async function main(): Promise<void> {
  const env = loadConfigOrExit();
  const deps = await createDeps(env);
  await prepareStores(deps);
  await ensureFirstAdmin(deps);
  const app = createApp(deps);
  const server = app.listen(env.PORT, env.HOST, () => {
    console.log(`neuronode API: http://${env.HOST}:${env.PORT}/api (health: /api/health)`);
  });
  const hub = attachWebSockets(server, deps, (req) => authenticateUpgrade(deps, req));
  const stop = () => void hub.close().then(() => server.close(() => void closeDeps(deps).then(() => process.exit(0))));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error('neuronode API failed to start:', err);
  process.exit(1);
});
