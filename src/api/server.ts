import { loadConfigOrExit } from '../config';
import { closeDeps, createDeps } from '../deps';
import { prepareStores } from '../worker-setup';
import { createApp } from './app';
import { ensureOptimizationSchedule } from '../schedules';
import { startVectorMigration } from '../vector-migration';
import { startAlertMonitor } from './alerts';
import { authenticateUpgrade, ensureFirstAdmin } from './auth';
import type { Metrics } from './metrics';
import { attachWebSockets } from './ws';

async function main(): Promise<void> {
  const env = loadConfigOrExit();
  const deps = await createDeps(env);
  await prepareStores(deps);
  await ensureFirstAdmin(deps);
  if (deps.temporal) {
    console.log(`neuronode: model optimisation schedule ${await ensureOptimizationSchedule(deps.temporal, env)}`);
    // Returns at once unless the embedding model changed; then re-embeds in the background.
    console.log(`neuronode: vector model check ${(await startVectorMigration(deps.temporal, env)).workflowId} started`);
  }
  const app = createApp(deps);
  const server = app.listen(env.PORT, env.HOST, () => {
    console.log(`neuronode API: http://${env.HOST}:${env.PORT}/api (health: /api/health)`);
  });
  const metrics = app.locals.metrics as Metrics;
  const hub = attachWebSockets(server, deps, (req) => authenticateUpgrade(deps, req), {
    heartbeatMs: env.WS_HEARTBEAT_MS,
    onConnections: (channel, open) => metrics.wsConnections.set({ channel }, open),
  });
  const alerts = startAlertMonitor(deps, { intervalMs: env.ALERT_INTERVAL_MS });
  const stop = () => void Promise.all([alerts.stop(), hub.close()]).then(() => server.close(() => void closeDeps(deps).then(() => process.exit(0))));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error('neuronode API failed to start:', err);
  process.exit(1);
});
