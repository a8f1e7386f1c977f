/**
 * npm run bench:gateway — what the model gateway client adds to a call, and what the budget gate's
 * estimate costs. The same minimal call (one output token through `classification_local`) is made
 * directly with the OpenAI client against LiteLLM (the baseline) and through the LLM client with
 * everything it does per call: assignment lookup, circuit, the daily-spend guard (a limit is set,
 * so its SUM query runs) and the analytics row. Runs alternate, medians reported; the estimate is
 * timed for documents of 10 and 300 chunks. Writes bench/results/gateway.json. Needs the stack.
 */
import OpenAI from 'openai';
import { createSpendGuard } from '../src/budget';
import { parseConfig } from '../src/config';
import { closeDeps, createDeps } from '../src/deps';
import { estimateIngestionCost } from '../src/domain/budget';
import { assertMigrated } from '../src/adapters';
import { percentile, run, writeResult } from './bench-kit';

const RUNS = 21;
const WS = 'bench-gateway';
const ALIAS = 'classification_local';
const median = (xs: number[]) => percentile(xs, 50)!;

run(async () => {
  const env = parseConfig(process.env);
  const deps = await createDeps(env, { temporal: false });
  await assertMigrated(deps.db);
  await deps.db.query(`INSERT INTO workspaces (id, name) VALUES ($1, 'Gateway benchmark') ON CONFLICT (id) DO NOTHING`, [WS]);
  await deps.db.query(
    `INSERT INTO budget_settings (workspace_id, daily_limit_usd) VALUES ($1, 1000) ON CONFLICT (workspace_id) DO UPDATE SET daily_limit_usd = 1000`,
    [WS],
  );
  const direct = new OpenAI({ baseURL: `${env.LITELLM_URL}/v1`, apiKey: env.LITELLM_MASTER_KEY, timeout: 120_000 });
  const messages = [{ role: 'user' as const, content: 'Say OK.' }];
  const directMs: number[] = [];
  const clientMs: number[] = [];
  // One warm-up of each path (model load, connection pools, /model/info).
  await direct.chat.completions.create({ model: ALIAS, messages, max_tokens: 1 });
  await deps.llm.chat(ALIAS, messages, { workspaceId: WS, activity: 'bench_gateway' }, { maxTokens: 1 });
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    await direct.chat.completions.create({ model: ALIAS, messages, max_tokens: 1 });
    directMs.push(performance.now() - t);
    t = performance.now();
    await deps.llm.chat(ALIAS, messages, { workspaceId: WS, activity: 'bench_gateway' }, { maxTokens: 1 });
    clientMs.push(performance.now() - t);
  }
  const guardMs: number[] = [];
  const guard = createSpendGuard(deps.db, deps.redis, env);
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await guard(WS);
    guardMs.push(performance.now() - t);
  }
  const chunk = 'Die Bundesnetzagentur in Bonn genehmigt den Ausbau der Stromnetze; SuedLink verbindet Windparks im Norden mit Bayern. '.repeat(8);
  const estimateMs: Record<string, number> = {};
  for (const n of [10, 300]) {
    const chunks = Array.from({ length: n }, (_, i) => `${i} ${chunk}`);
    const xs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      estimateIngestionCost({ title: 'Bench', format: 'text', chunks, prices: { classification: { input: 2e-8, output: 2e-8 }, extraction: { input: 2e-8, output: 2e-8 }, embedding: { input: 2e-8, output: 0 } }, maxOutput: { classification: 120, extraction: 2400 } });
      xs.push(performance.now() - t);
    }
    estimateMs[`chunks_${n}`] = +median(xs).toFixed(1);
  }
  const out = {
    runs: RUNS,
    call: `${ALIAS}, 1 output token, via LiteLLM to the local model server`,
    baseline_direct_ms_median: +median(directMs).toFixed(1),
    llm_client_ms_median: +median(clientMs).toFixed(1),
    client_overhead_ms_median: +(median(clientMs) - median(directMs)).toFixed(1),
    spend_guard_ms_median: +median(guardMs).toFixed(2),
    estimate_ms_median: estimateMs,
  };
  console.log(out);
  writeResult('gateway.json', out);
  await deps.db.query(`DELETE FROM model_calls WHERE activity = 'bench_gateway'`);
  await closeDeps(deps);
});
