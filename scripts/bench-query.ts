/**
 * npm run bench:query — latency of questions over the MultiHop-RAG workspace (ingest it first with
 * npm run eval:multihop), through the real HTTP API: POST /api/retrieve (hybrid) at 1, 10 and 100
 * concurrent users, and POST /api/query (the whole answerQuery workflow with the local model) at 1
 * and 10. Each request asks a different development question, so no answer comes from the cache.
 *
 * Baseline, measured in the same run with the same questions: the bare store calls one hybrid
 * retrieval is built from (one Chroma query with a precomputed embedding, one Neo4j full-text query),
 * so the planner's and fusion's own cost is visible. Writes bench/results/query.json (medians and p95).
 *
 *   BENCH_WORKSPACE (eval-multihop), BENCH_ANSWERS_10 (10): answers at 10 users (0 skips)
 */
import type { AddressInfo } from 'node:net';
import { COLLECTIONS, vectorCollection } from '../src/adapters';
import { CHUNK_SEARCH_INDEX } from '../src/adapters/neo4j';
import { createApp } from '../src/api/app';
import { ensureFirstAdmin } from '../src/api/auth';
import { parseConfig } from '../src/config';
import { EMBEDDING_FOR } from '../src/domain/model-aliases';
import { keywordQuery } from '../src/domain/query-plan';
import { benchSystem, percentile, run, writeResult } from './bench-kit';
import { loadQueries } from './eval-corpus';
import neo4j from 'neo4j-driver';

const pct = (xs: number[], p: number) => {
  const v = percentile(xs, p);
  return v === null ? null : Math.round(v);
};
const summary = (xs: number[], wallMs: number) => ({ n: xs.length, p50_ms: pct(xs, 50), p95_ms: pct(xs, 95), max_ms: pct(xs, 100), per_hour: Math.round((xs.length / wallMs) * 3_600_000) });

async function load(users: number, items: string[], fn: (q: string) => Promise<void>) {
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: users }, async () => {
      while (next < items.length) {
        const q = items[next++]!;
        const t = performance.now();
        try {
          await fn(q);
          lat.push(performance.now() - t);
        } catch (err) {
          errors++;
          console.error((err as Error).message);
        }
      }
    }),
  );
  return { users, ...summary(lat, performance.now() - t0), errors };
}

async function main() {
  const env = parseConfig(process.env);
  const ws = process.env.BENCH_WORKSPACE ?? 'eval-multihop';
  const sys = await benchSystem(env, 'bench-query');
  const { deps } = sys;
  const n = (await deps.db.query(`SELECT count(*)::int AS n FROM documents WHERE workspace_id = $1 AND status = 'completed'`, [ws])).rows[0].n as number;
  if (n === 0) throw new Error(`workspace ${ws} has no documents: run npm run eval:multihop first`);
  // The API as users see it: the first administrator, a member of the benchmark's workspace, with a token.
  await ensureFirstAdmin(deps);
  await deps.db.query(
    `INSERT INTO workspace_members (workspace_id, user_id, role) SELECT $1, id, 'admin' FROM users WHERE email = lower($2) ON CONFLICT DO NOTHING`,
    [ws, env.NEURONODE_ADMIN_EMAIL],
  );
  const app = createApp(deps);
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: env.NEURONODE_ADMIN_EMAIL, password: env.NEURONODE_ADMIN_PASSWORD, workspace_id: ws }),
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const token = ((await login.json()) as { access_token: string }).access_token;
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    if (r.status !== 200) throw new Error(`${path} answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
    const json = (await r.json()) as { cached?: boolean };
    if (json.cached) throw new Error('an answer came from the cache: the benchmark measures computed answers');
  };
  // Answers cached by an earlier run are invalidated the way an ingestion invalidates them.
  await deps.redis.incr(`neuronode:corpus-version:${ws}`);
  const questions = loadQueries().map((q) => q.query);
  const at = (offset: number, k: number) => questions.slice(offset, offset + k);

  // Warm-up (connections, collection handles, the model server's embedding session).
  for (const q of at(500, 5)) await post('/api/retrieve', { question: q, mode: 'hybrid', top_k: 10 });

  // Baseline: the bare store calls with a precomputed embedding.
  const embedded = await deps.llm.embed(EMBEDDING_FOR.chunks, at(0, 100), {});
  const col = await vectorCollection(deps.chroma, COLLECTIONS.chunks, embedded.model, embedded.vectors[0]!.length);
  const vecOf = new Map(at(0, 100).map((q, i) => [q, embedded.vectors[i]!]));
  const baseline: Record<string, unknown> = {};
  for (const users of [1, 10]) {
    baseline[`users_${users}`] = await load(users, at(0, users === 1 ? 30 : 100), async (q) => {
      await col.query({ queryEmbeddings: [vecOf.get(q)!], nResults: 40, where: { workspace_id: ws }, include: ['distances'] });
      await deps.graph.executeQuery(`CALL db.index.fulltext.queryNodes($i, $q, {limit: $n}) YIELD node RETURN node.id`, { i: CHUNK_SEARCH_INDEX, q: keywordQuery(q, ws), n: neo4j.int(40) }, { routing: 'READ' });
    });
    console.log('baseline', JSON.stringify(baseline[`users_${users}`]));
  }

  const retrieval: Record<string, unknown> = {};
  for (const [users, count] of [[1, 30], [10, 100], [100, 300]] as const) {
    retrieval[`users_${users}`] = await load(users, at(0, count), (q) => post('/api/retrieve', { question: q, mode: 'hybrid', top_k: 10 }));
    console.log('retrieve', JSON.stringify(retrieval[`users_${users}`]));
  }

  const answers: Record<string, unknown> = {};
  const n10 = Number(process.env.BENCH_ANSWERS_10 ?? 10);
  for (const [users, count, offset] of [[1, 3, 300], [10, n10, 310]] as const) {
    if (count <= 0) continue;
    answers[`users_${users}`] = await load(users, at(offset, count), (q) => post('/api/query', { question: q, top_k: 6, profile: 'local' }));
    console.log('answer', JSON.stringify(answers[`users_${users}`]));
  }

  const out = {
    workspace: { id: ws, documents: n },
    machine: '2 cores, CPU only; every service of the stack on the same machine',
    retrieval_request: 'POST /api/retrieve {mode: hybrid, top_k: 10}: planning, one embedding per sub-question, Chroma + Neo4j full-text + graph per sub-question, fusion, chunk load',
    answer_request: 'POST /api/query {profile: local, top_k: 6}: the answerQuery workflow, Gemma 3 270M for intent, answer and validation (two model slots)',
    baseline_bare_store_calls: baseline,
    retrieval,
    answers,
    answers_at_100_users: 'not measured: the local model server has two slots, so 100 concurrent answers queue behind each other (about 50 × one answer\'s time)',
    seed_targets: { complex_query_seconds: 3, queries_per_hour: 1000 },
    goal: { retrieval_p95_ms_at_10_users: 300 },
  };
  writeResult('query.json', out);
  await new Promise((r) => server.close(r));
  await sys.stop();
}

run(main);
