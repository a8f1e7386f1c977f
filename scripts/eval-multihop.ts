/**
 * npm run eval:multihop — retrieval and answer quality on MultiHop-RAG's development split
 * (../shared/eval/multihop-rag), scored with the paper's own definitions (its retrieval_evaluate.py):
 * a retrieved chunk is a hit when a gold fact (spaces and newlines removed) lies inside its text;
 * Hits@4, Hits@10, MRR@10, MAP@10 over the non-null queries; plus AllFacts@10 (every gold fact of
 * the query somewhere in the top 10). Answers, on a type-stratified sample through the full
 * answerQuery workflow and through a plain baseline (top 5 keyword chunks, the same chat model, one
 * short-answer instruction): accuracy by normalised matching (scripts/eval-score.ts) beside the paper's
 * containment score. Writes bench/results/multihop-dev.json (or EVAL_OUT).
 *
 *   EVAL_PROFILE (nlp)           ingestion profile of the corpus
 *   EVAL_WORKSPACE (eval-multihop)
 *   EVAL_QUERIES (all)           limit the retrieval evaluation to the first N queries
 *   EVAL_ANSWERS (24)            answered questions (stratified by type; 0 = none)
 *   EVAL_SLICE (report)          report: the queries outside the fixed tuning slice; tune: that slice
 *                                (retrieval and answers both)
 *   EVAL_SWEEP                   vector fusion weights to try on the tuning slice, e.g. 0,0.2,0.4
 *   EVAL_ANSWER_MODEL            a local chat model for synthesis and validation (and the baseline)
 *   EVAL_RETRIEVAL (1)           0: answers only
 *   EVAL_CONCURRENCY (4)         retrievals in flight
 *
 * Needs the stack (stack/stack.sh up); ingests the corpus once (idempotent).
 */
import { parseConfig, taskQueues } from '../src/config';
import { ASSIGNMENTS_VERSION_KEY } from '../src/adapters/llm';
import { newId } from '../src/domain/ids';
import { EMBEDDING_FOR } from '../src/domain/model-aliases';
import type { Mode } from '../src/domain/query-plan';
import { WEIGHTS, createRetriever, type RankedChunk } from '../src/retrieval/retrieve';
import { benchSystem, percentile, resultPath, run, writeResult } from './bench-kit';
import { ensureCorpus, isTuning, loadQueries, plainBm25, type Query } from './eval-corpus';
import { answerContainsGold, answerCorrect, isRefusal, scoreRetrieval } from './eval-score';

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


async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, seconds: +((performance.now() - t) / 1000).toFixed(1) };
}

interface Judged { type: string; question: string; gold: string; answer: string; correct: boolean; paper_correct: boolean; refused: boolean; ms?: number }

function judged(q: Query, answer: string): Judged {
  return { type: q.question_type, question: q.query, gold: q.answer, answer, correct: answerCorrect(answer, q.answer), paper_correct: answerContainsGold(answer, q.answer), refused: isRefusal(answer) };
}

function summarise(items: (Judged & { ms: number })[], types: string[], seconds: number) {
  const share = (xs: Judged[], f: (x: Judged) => boolean) => (xs.length ? +(xs.filter(f).length / xs.length).toFixed(3) : null);
  const nulls = items.filter((x) => x.type === 'null_query');
  const answerable = items.filter((x) => x.type !== 'null_query');
  return {
    n: items.length,
    accuracy: share(items, (x) => x.correct),
    paper_accuracy: share(items, (x) => x.paper_correct),
    answerable_accuracy: share(answerable, (x) => x.correct),
    unanswerable_refused: share(nulls, (x) => x.refused),
    answerable_refused: share(answerable, (x) => x.refused),
    by_type: Object.fromEntries(types.map((t) => [t, { n: items.filter((x) => x.type === t).length, accuracy: share(items.filter((x) => x.type === t), (x) => x.correct) }])),
    latency_ms: { p50: pct(items.map((x) => x.ms), 50), p95: pct(items.map((x) => x.ms), 95) },
    seconds,
    items,
  };
}

/**
 * Serves the local profile's synthesis and validation slots with `model` for this run (the
 * administrator's assignment mechanism); the returned function puts the previous assignments back.
 */
async function assignForRun(deps: Awaited<ReturnType<typeof benchSystem>>['deps'], model: string): Promise<() => Promise<void>> {
  const tasks = ['synthesis', 'validation_primary', 'validation_secondary'];
  const before = (await deps.db.query(`SELECT task, profile, model, source, reason FROM model_assignments WHERE profile = 'local' AND task = ANY($1)`, [tasks])).rows;
  for (const task of tasks) {
    await deps.db.query(
      `INSERT INTO model_assignments (task, profile, model, source, reason) VALUES ($1, 'local', $2, 'admin', $3)
       ON CONFLICT (task, profile) DO UPDATE SET model = EXCLUDED.model, source = 'admin', reason = EXCLUDED.reason, updated_at = now()`,
      [task, model, JSON.stringify({ note: 'eval:multihop run' })],
    );
  }
  await deps.redis.incr(ASSIGNMENTS_VERSION_KEY);
  return async () => {
    await deps.db.query(`DELETE FROM model_assignments WHERE profile = 'local' AND task = ANY($1)`, [tasks]);
    for (const r of before) {
      await deps.db.query(`INSERT INTO model_assignments (task, profile, model, source, reason) VALUES ($1, $2, $3, $4, $5)`, [r.task, r.profile, r.model, r.source, r.reason]);
    }
    await deps.redis.incr(ASSIGNMENTS_VERSION_KEY);
  };
}

async function main() {
  const env = parseConfig(process.env);
  const ws = process.env.EVAL_WORKSPACE ?? 'eval-multihop';
  const profile = process.env.EVAL_PROFILE ?? 'nlp';
  const concurrency = Number(process.env.EVAL_CONCURRENCY ?? 4);
  const nAnswers = Number(process.env.EVAL_ANSWERS ?? 24);
  const slice = process.env.EVAL_SLICE === 'tune' ? 'tune' : 'report';
  const skipRetrieval = process.env.EVAL_RETRIEVAL === '0';
  const outName = process.env.EVAL_OUT ?? 'multihop-dev.json';
  resultPath(outName); // a bad name fails now, not after the run
  const sys = await benchSystem(env, 'eval');
  const probe = await sys.deps.llm.embed(EMBEDDING_FOR.chunks, ['probe']);
  const [embeddingModel, embeddingDimension] = [probe.model, probe.vectors[0]!.length];
  const { deps } = sys;
  const corpus = await ensureCorpus(deps, env, ws, profile, console.log, Number(process.env.EVAL_LIMIT ?? Infinity));
  const completed = (await deps.db.query(`SELECT count(*)::int AS n, sum((counts->>'chunks')::int)::int AS chunks FROM documents WHERE workspace_id = $1 AND status = 'completed'`, [ws])).rows[0];
  console.log(`corpus: ${completed.n} documents, ${completed.chunks} chunks`);

  const all = loadQueries().slice(0, Number(process.env.EVAL_QUERIES ?? Infinity));
  // Retrieval is scored on the slice asked for (the report slice by default), never on both.
  const inSlice = (which: 'tune' | 'report') => all.filter((q, i) => q.question_type !== 'null_query' && (which === 'tune' ? isTuning(i) : !isTuning(i)));
  const answerable = inSlice(slice);
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
  const scoreLists = (lists: string[][]) => {
    const byType: Record<string, unknown> = {};
    for (const type of [...new Set(answerable.map((q) => q.question_type))]) {
      const idx = answerable.map((q, i) => (q.question_type === type ? i : -1)).filter((i) => i >= 0);
      byType[type] = scoreRetrieval(idx.map((i) => lists[i]!), idx.map((i) => gold[i]!));
    }
    return { ...scoreRetrieval(lists, gold), by_type: byType };
  };
  if (!skipRetrieval) {
    // The baseline, measured here: a plain BM25 over the same chunk texts the retriever returns.
    const started = performance.now();
    const rows = (
      await deps.db.query(
        `SELECT c.content, d.title, d.filename, d.metadata->>'source' AS source, d.metadata->>'created' AS published
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.workspace_id = $1 AND d.status = 'completed' ORDER BY c.id`,
        [ws],
      )
    ).rows;
    const texts = rows.map((r) => textOf({ title: r.title ?? r.filename, source: r.source, published: r.published, text: r.content } as RankedChunk));
    const bm25 = plainBm25(texts, answerable.map((q) => q.query), 10);
    retrieval.bm25_plain = {
      ...scoreLists(bm25.top.map((ids) => ids.map((i) => texts[i]!))),
      implementation: `rank_bm25 ${bm25.version} BM25Okapi (k1 1.5, b 0.75) over ${texts.length} chunk texts; tokens: ${bm25.tokenizer}; the raw question, no planning`,
      seconds: +((performance.now() - started) / 1000).toFixed(1),
    };
    console.log('bm25_plain', JSON.stringify({ ...(retrieval.bm25_plain as object), by_type: undefined }));
  }
  // The fusion weight of vectors, swept on the tuning slice (EVAL_SWEEP="0,0.2,0.4"): how the chosen
  // weight in src/retrieval/retrieve.ts is found. Never on the slice the figures are reported on.
  const sweep = (process.env.EVAL_SWEEP ?? '').split(',').filter(Boolean).map(Number);
  if (!skipRetrieval && sweep.length) {
    const tune = inSlice('tune');
    const tuneGold = tune.map((q) => q.evidence_list.map((e) => e.fact));
    const results: Record<string, unknown> = {};
    for (const w of sweep) {
      const weights = { ...WEIGHTS, vector: w };
      const lists = await pool(tune, concurrency, async (q) => (await retriever.retrieve({ workspaceId: ws, question: q.query, mode: 'hybrid', topK: 10, weights })).chunks.map(textOf));
      results[`vector=${w}`] = scoreRetrieval(lists, tuneGold);
      console.log(`sweep vector=${w}`, JSON.stringify(results[`vector=${w}`]));
    }
    retrieval.sweep_on_tuning_slice = { queries: tune.length, keyword_weight: WEIGHTS.keyword, graph_weight: WEIGHTS.graph, chosen_vector_weight: WEIGHTS.vector, results };
  }
  for (const cfg of skipRetrieval ? [] : configs) {
    const started = performance.now();
    const latencies: number[] = [];
    const lists = await pool(answerable, concurrency, async (q) => {
      const t = performance.now();
      const r = await retriever.retrieve({ workspaceId: ws, question: q.query, mode: cfg.mode, topK: 10, decompose: cfg.decompose });
      latencies.push(performance.now() - t);
      return r.chunks.map(textOf);
    });
    retrieval[cfg.name] = { ...scoreLists(lists), latency_ms: { p50: Math.round(pct(latencies, 50)!), p95: Math.round(pct(latencies, 95)!) }, seconds: +((performance.now() - started) / 1000).toFixed(1) };
    console.log(cfg.name, JSON.stringify({ ...(retrieval[cfg.name] as object), by_type: undefined }));
  }

  // Answers: a type-stratified sample of the report slice, through the whole answerQuery workflow and
  // through the plain baseline, both with the same chat model.
  const answers: Record<string, unknown> = {};
  if (nAnswers > 0) {
    const types = [...new Set(all.map((q) => q.question_type))].sort();
    const per = Math.max(1, Math.floor(nAnswers / types.length));
    const sliced = all.filter((_, i) => (slice === 'tune' ? isTuning(i) : !isTuning(i)));
    const sample: Query[] = types.flatMap((t) => sliced.filter((q) => q.question_type === t).slice(0, per));
    const model = process.env.EVAL_ANSWER_MODEL ?? null;
    const restore = model ? await assignForRun(deps, model) : null;
    try {
      const queues = taskQueues(env);
      const pipeline = await timed(() =>
        pool(sample, 1, async (q) => {
          const queryId = `q_eval_${newId()}`;
          const t = performance.now();
          const handle = await deps.temporal!.workflow.start('answerQuery', {
            taskQueue: queues.main,
            workflowId: `query-${queryId}`,
            args: [{ queryId, workspaceId: ws, userId: null, question: q.query, profile: 'local', mode: 'hybrid', topK: 6, filters: {}, cacheKey: null, llmTaskQueue: queues.llm }],
          });
          const r = (await handle.result()) as { answer: string; validation: { grounded: boolean }; draft_answer?: string };
          return { ...judged(q, r.answer), draft: r.draft_answer ?? null, grounded: r.validation.grounded, ms: Math.round(performance.now() - t) };
        }),
      );
      // The plain baseline: the top 5 keyword (BM25) chunks, the same chat model, one short-answer
      // instruction, no validation.
      const baseline = await timed(() =>
        pool(sample, 1, async (q) => {
          const t = performance.now();
          const r = await retriever.retrieve({ workspaceId: ws, question: q.query, mode: 'keyword', topK: 5, decompose: false });
          const context = r.chunks.map((c, i) => `[${i + 1}] ${textOf(c)}`).join('\n\n');
          const { text } = await deps.llm.chat(model ?? 'synthesis_local', [
            { role: 'user', content: `${context}\n\nAnswer the question from the articles above with a short answer (yes, no, a name, or a few words). If they do not contain the answer, reply "Insufficient information."\nQuestion: ${q.query}\nAnswer:` },
          ], { workspaceId: ws, activity: 'evalBaseline' }, { maxTokens: 48, temperature: 0 });
          return { ...judged(q, text), ms: Math.round(performance.now() - t) };
        }),
      );
      answers.sample = sample.length;
      answers.slice = slice;
      answers.chat_model = model ?? 'the local profile as assigned (synthesis_local and the validation aliases)';
      answers.pipeline = summarise(pipeline.value, types, pipeline.seconds);
      answers.baseline = summarise(baseline.value, types, baseline.seconds);
      console.log('answers', JSON.stringify({ pipeline: { ...(answers.pipeline as object), items: undefined }, baseline: { ...(answers.baseline as object), items: undefined } }));
    } finally {
      await restore?.();
    }
  }

  const out = {
    split: `MultiHop-RAG development split (511 queries), ${slice} slice (${slice === 'tune' ? 'every fifth query' : 'all but every fifth query'}); null queries skipped for retrieval (${answerable.length} scored)`,
    corpus: { documents: completed.n, chunks: completed.chunks, ingestion_profile: profile, ingested_now: corpus.ingestedNow, ingest_seconds: +corpus.seconds.toFixed(1) },
    chunking: { max_tokens: env.CHUNK_TOKENS, overlap_tokens: env.CHUNK_OVERLAP_TOKENS, tokenizer: 'cl100k (gpt-tokenizer)', retrieved_text: 'title, source and date prefix + chunk text' },
    embedding: `${embeddingModel} (${embeddingDimension}-d) through LiteLLM, as it answered a probe`,
    scoring: {
      retrieval: 'retrieval_evaluate.py of the paper (fact with spaces/newlines removed inside the chunk text); AllFacts@10 = every gold fact in the top 10',
      answers: 'accuracy: yes/no by the leading yes or no, entities as whole phrases after normalisation, null queries by a refusal (scripts/eval-score.ts answerCorrect); paper_accuracy: the paper\'s "prediction contains the gold answer"',
    },
    anchors: {
      paper_best_voyage02_bge_reranker_large: { 'Hits@10': 0.7467, 'MRR@10': 0.586, 'MAP@10': 0.4795, 'Hits@4': 0.6625 },
      goal: { 'Hits@10': 0.95, 'MRR@10': 0.75, 'MAP@10': 0.5, 'AllFacts@10': 0.6 },
    },
    retrieval,
    answers,
  };
  writeResult(outName, out);
  await sys.stop();
}

run(main);
