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
import { parseConfig } from '../src/config';
import { EMBEDDING_FOR } from '../src/domain/model-aliases';
import type { Mode } from '../src/domain/query-plan';
import { WEIGHTS, createRetriever, type RankedChunk } from '../src/retrieval/retrieve';
import { benchSystem, percentile, resultPath, run, writeResult } from './bench-kit';
import { assignForRun, baselineAnswer, chunkText, judge, pipelineAnswer, pool, summarise, timed } from './eval-answers';
import { ensureCorpus, isTuning, loadQueries, plainBm25, type Query } from './eval-corpus';
import { scoreRetrieval } from './eval-score';

const pct = percentile;

const judged = (q: Query, answer: string) => judge({ type: q.question_type, question: q.query, gold: q.answer }, answer);

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
  const textOf = chunkText;

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
    const restore = model ? await assignForRun(deps, model, 'eval:multihop run') : null;
    try {
      const pipeline = await timed(() =>
        pool(sample, 1, async (q) => {
          const t = performance.now();
          const r = await pipelineAnswer(deps, env, ws, q.query);
          return { ...judged(q, r.answer), draft: r.draft, grounded: r.grounded, ms: Math.round(performance.now() - t) };
        }),
      );
      const baseline = await timed(() =>
        pool(sample, 1, async (q) => {
          const t = performance.now();
          const text = await baselineAnswer(deps, retriever, ws, q.query, model);
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
