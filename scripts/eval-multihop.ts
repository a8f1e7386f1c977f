/**
 * npm run eval:multihop — see scripts/eval-corpus.ts for the corpus. (Scoring follows.)
 */
import { parseConfig } from '../src/config';
import { closeDeps, createDeps } from '../src/deps';
import { createWorkers, prepareStores } from '../src/worker-setup';
import { ensureCorpus } from './eval-corpus';

async function main() {
  const env = parseConfig(process.env);
  const ws = process.env.EVAL_WORKSPACE ?? 'eval-multihop';
  const profile = process.env.EVAL_PROFILE ?? 'nlp';
  const deps = await createDeps(env);
  await prepareStores(deps);
  const workers = await createWorkers(deps, { identity: 'eval' });
  const running = workers.run();
  const corpus = await ensureCorpus(deps, env, ws, profile, console.log, Number(process.env.EVAL_LIMIT ?? Infinity));
  console.log(JSON.stringify({ documents: corpus.ids.length, ingested_now: corpus.ingestedNow, seconds: corpus.seconds }));
  workers.shutdown();
  await running;
  await workers.connection.close();
  await closeDeps(deps);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
