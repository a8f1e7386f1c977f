/**
 * npm run eval:multihop — retrieval and answer quality on MultiHop-RAG's development split
 * (../shared/eval/multihop-rag), scored with the paper's own definitions (its retrieval_evaluate.py):
 * a retrieved chunk is a hit when a gold fact (spaces and newlines removed) lies inside its text;
 * Hits@4, Hits@10, MRR@10, MAP@10 over the non-null queries; plus AllFacts@10 (every gold fact of
 * the query somewhere in the top 10). Answer accuracy: the answer contains the gold answer
 * ("Insufficient information." for null queries), on a type-stratified sample through the full
 * answerQuery workflow. Writes bench/results/multihop-dev.json.
 *
 *   EVAL_PROFILE (nlp)           ingestion profile of the corpus
 *   EVAL_WORKSPACE (eval-multihop)
 *   EVAL_QUERIES (all)           limit the retrieval evaluation to the first N queries
 *   EVAL_ANSWERS (24)            answered questions (stratified by type; 0 = none)
 *   EVAL_CONCURRENCY (4)         retrievals in flight
 *
 * Needs the stack (stack/stack.sh up); ingests the corpus once (idempotent).
 */
import { parseConfig, taskQueues } from '../src/config';
import { newId } from '../src/domain/ids';
import type { Mode } from '../src/domain/query-plan';
import { createRetriever, type RankedChunk } from '../src/retrieval/retrieve';
import { benchSystem, percentile, run, writeResult } from './bench-kit';
import { ensureCorpus, loadQueries, type Query } from './eval-corpus';
import { scoreRetrieval } from './eval-score';

async function pool<T, R>(items: T[], n: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

const pct = percentile;

async function main() {
  const env = parseConfig(process.env);
  const ws = process.env.EVAL_WORKSPACE ?? 'eval-multihop';
  const profile = process.env.EVAL_PROFILE ?? 'nlp';
  const concurrency = Number(process.env.EVAL_CONCURRENCY ?? 4);
  const nAnswers = Number(process.env.EVAL_ANSWERS ?? 24);
  const sys = await benchSystem(env, 'eval');
  const { deps } = sys;
  const corpus = await ensureCorpus(deps, env, ws, profile, console.log, Number(process.env.EVAL_LIMIT ?? Infinity));
  const completed = (await deps.db.query(`SELECT count(*)::int AS n, sum((counts->>'chunks')::int)::int AS chunks FROM documents WHERE workspace_id = $1 AND status = 'completed'`, [ws])).rows[0];
  console.log(`corpus: ${completed.n} documents, ${completed.chunks} chunks`);

  const all = loadQueries().slice(0, Number(process.env.EVAL_QUERIES ?? Infinity));
  const answerable = all.filter((q) => q.question_type !== 'null_query');
  const gold = answerable.map((q) => q.evidence_list.map((e) => e.fact));
  const retriever = createRetriever(deps);
  const textOf = (c: RankedChunk) => `${c.title}\n${c.source ?? ''}${c.published ? `, ${c.published.slice(0, 10)}` : ''}\n${c.text}`;

  const configs: { name: string; mode: Mode; decompose: boolean }[] = [
    { name: 'vector', mode: 'vector', decompose: true },
    { name: 'keyword', mode: 'keyword', decompose: true },
    { name: 'graph', mode: 'graph', decompose: true },
    { name: 'hybrid', mode: 'hybrid', decompose: true },
    { name: 'hybrid_without_decomposition', mode: 'hybrid', decompose: false },
    { name: 'keyword_without_decomposition', mode: 'keyword', decompose: false },
  ];
  const retrieval: Record<string, unknown> = {};
  for (const cfg of configs) {
    const started = performance.now();
    const latencies: number[] = [];
    const lists = await pool(answerable, concurrency, async (q) => {
      const t = performance.now();
      const r = await retriever.retrieve({ workspaceId: ws, question: q.query, mode: cfg.mode, topK: 10, decompose: cfg.decompose });
      latencies.push(performance.now() - t);
      return r.chunks.map(textOf);
    });
    const byType: Record<string, unknown> = {};
    for (const type of [...new Set(answerable.map((q) => q.question_type))]) {
      const idx = answerable.map((q, i) => (q.question_type === type ? i : -1)).filter((i) => i >= 0);
      byType[type] = scoreRetrieval(idx.map((i) => lists[i]!), idx.map((i) => gold[i]!));
    }
    retrieval[cfg.name] = { ...scoreRetrieval(lists, gold), by_type: byType, latency_ms: { p50: Math.round(pct(latencies, 50)!), p95: Math.round(pct(latencies, 95)!) }, seconds: +((performance.now() - started) / 1000).toFixed(1) };
    console.log(cfg.name, JSON.stringify({ ...(retrieval[cfg.name] as object), by_type: undefined }));
  }

  // Answers: a type-stratified sample through the whole answerQuery workflow.
  const answers: Record<string, unknown> = {};
  if (nAnswers > 0) {
    const types = [...new Set(all.map((q) => q.question_type))].sort();
    const per = Math.max(1, Math.floor(nAnswers / types.length));
    const sample: Query[] = types.flatMap((t) => all.filter((q) => q.question_type === t).filter((_, i) => i % 7 === 0).slice(0, per));
    const queues = taskQueues(env);
    const started = performance.now();
    const results = await pool(sample, 2, async (q) => {
      const queryId = `q_eval_${newId()}`;
      const t = performance.now();
      const handle = await deps.temporal!.workflow.start('answerQuery', {
        taskQueue: queues.main,
        workflowId: `query-${queryId}`,
        args: [{ queryId, workspaceId: ws, userId: null, question: q.query, profile: 'local', mode: 'hybrid', topK: 6, filters: {}, cacheKey: null, llmTaskQueue: queues.llm }],
      });
      const r = (await handle.result()) as { answer: string; validation: { grounded: boolean }; draft_answer?: string };
      const want = q.answer.toLowerCase().replace(/\.$/, '');
      const correct = r.answer.toLowerCase().includes(want);
      return { type: q.question_type, gold: q.answer, answer: r.answer, draft: r.draft_answer ?? null, grounded: r.validation.grounded, correct, ms: Math.round(performance.now() - t) };
    });
    const acc = (xs: typeof results) => (xs.length ? +(xs.filter((x) => x.correct).length / xs.length).toFixed(3) : null);
    answers.sample = results.length;
    answers.accuracy = acc(results);
    answers.by_type = Object.fromEntries(types.map((t) => [t, { n: results.filter((r) => r.type === t).length, accuracy: acc(results.filter((r) => r.type === t)) }]));
    answers.grounded_share = +(results.filter((r) => r.grounded).length / Math.max(1, results.length)).toFixed(3);
    answers.latency_ms = { p50: pct(results.map((r) => r.ms), 50), p95: pct(results.map((r) => r.ms), 95) };
    answers.seconds = +((performance.now() - started) / 1000).toFixed(1);
    answers.model = 'local profile: every chat alias served by Gemma 3 270M (Q4_K_M) on this CPU';
    answers.items = results;
    console.log('answers', JSON.stringify({ ...answers, items: undefined }));
  }

  const out = {
    measured_at: new Date().toISOString(),
    split: 'MultiHop-RAG development split (511 queries; null queries skipped for retrieval)',
    corpus: { documents: completed.n, chunks: completed.chunks, ingestion_profile: profile, ingested_now: corpus.ingestedNow, ingest_seconds: +corpus.seconds.toFixed(1) },
    chunking: { max_tokens: env.CHUNK_TOKENS, overlap_tokens: env.CHUNK_OVERLAP_TOKENS, tokenizer: 'cl100k (gpt-tokenizer)', retrieved_text: 'title, source and date prefix + chunk text' },
    embedding: 'all-MiniLM-L6-v2 int8 ONNX (384-d) through LiteLLM',
    scoring: 'retrieval_evaluate.py of the paper (fact with spaces/newlines removed inside the chunk text); AllFacts@10 = every gold fact in the top 10',
    anchors: {
      paper_best_voyage02_bge_reranker_large: { 'Hits@10': 0.7467, 'MRR@10': 0.586, 'MAP@10': 0.4795, 'Hits@4': 0.6625 },
      bm25_baseline_on_this_split: { 'Hits@10': 0.91, 'Hits@4': 0.8, 'MRR@10': 0.66, 'MAP@10': 0.33, 'AllFacts@10': 0.32 },
      goal: { 'Hits@10': 0.95, 'MRR@10': 0.75, 'MAP@10': 0.5, 'AllFacts@10': 0.6 },
    },
    retrieval,
    answers,
  };
  writeResult('multihop-dev.json', out);
  await sys.stop();
}

run(main);
