/**
 * What the answer evaluations share: a question answered through the whole answerQuery workflow, the
 * plain baseline answer (top 5 keyword chunks, the same chat model, one short-answer instruction, no
 * validation), judging against a gold answer (scripts/eval-score.ts) and the summary per type.
 */
import { ASSIGNMENTS_VERSION_KEY } from '../src/adapters/llm';
import { taskQueues, type Env } from '../src/config';
import type { Deps } from '../src/deps';
import { newId } from '../src/domain/ids';
import type { RankedChunk, Retriever } from '../src/retrieval/retrieve';
import { percentile } from './bench-kit';
import { answerContainsGold, answerCorrect, isRefusal } from './eval-score';

/** The type every unanswerable question carries (MultiHop-RAG's name for it). */
export const NULL_TYPE = 'null_query';

export async function pool<T, R>(items: T[], n: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
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

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, seconds: +((performance.now() - t) / 1000).toFixed(1) };
}

export interface Judged { type: string; question: string; gold: string; answer: string; correct: boolean; paper_correct: boolean; refused: boolean }

/** An answer judged against its gold answer, or against any of several accepted forms of it. */
export function judge(q: { type: string; question: string; gold: string | string[] }, answer: string): Judged {
  const golds = Array.isArray(q.gold) ? q.gold : [q.gold];
  return {
    type: q.type,
    question: q.question,
    gold: golds.join(' | '),
    answer,
    correct: golds.some((g) => answerCorrect(answer, g)),
    paper_correct: golds.some((g) => answerContainsGold(answer, g)),
    refused: isRefusal(answer),
  };
}

export function summarise(items: (Judged & { ms: number })[], types: string[], seconds: number) {
  const share = (xs: Judged[], f: (x: Judged) => boolean) => (xs.length ? +(xs.filter(f).length / xs.length).toFixed(3) : null);
  const nulls = items.filter((x) => x.type === NULL_TYPE);
  const answerable = items.filter((x) => x.type !== NULL_TYPE);
  return {
    n: items.length,
    accuracy: share(items, (x) => x.correct),
    paper_accuracy: share(items, (x) => x.paper_correct),
    answerable_accuracy: share(answerable, (x) => x.correct),
    unanswerable_refused: share(nulls, (x) => x.refused),
    answerable_refused: share(answerable, (x) => x.refused),
    by_type: Object.fromEntries(types.map((t) => [t, { n: items.filter((x) => x.type === t).length, accuracy: share(items.filter((x) => x.type === t), (x) => x.correct) }])),
    latency_ms: { p50: percentile(items.map((x) => x.ms), 50), p95: percentile(items.map((x) => x.ms), 95) },
    seconds,
    items,
  };
}

/**
 * Serves the local profile's synthesis and validation slots with `model` for this run (the
 * administrator's assignment mechanism); the returned function puts the previous assignments back.
 */
export async function assignForRun(deps: Deps, model: string, note: string): Promise<() => Promise<void>> {
  const tasks = ['synthesis', 'validation_primary', 'validation_secondary'];
  const before = (await deps.db.query(`SELECT task, profile, model, source, reason FROM model_assignments WHERE profile = 'local' AND task = ANY($1)`, [tasks])).rows;
  for (const task of tasks) {
    await deps.db.query(
      `INSERT INTO model_assignments (task, profile, model, source, reason) VALUES ($1, 'local', $2, 'admin', $3)
       ON CONFLICT (task, profile) DO UPDATE SET model = EXCLUDED.model, source = 'admin', reason = EXCLUDED.reason, updated_at = now()`,
      [task, model, JSON.stringify({ note })],
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

/** A retrieved chunk as the evaluations and the baseline read it: title, source and date, then the text. */
export const chunkText = (c: RankedChunk) => `${c.title}\n${c.source ?? ''}${c.published ? `, ${c.published.slice(0, 10)}` : ''}\n${c.text}`;

/** One question through the whole answerQuery workflow (local profile, hybrid retrieval), as the API runs it. */
export async function pipelineAnswer(deps: Deps, env: Env, ws: string, question: string): Promise<{ answer: string; grounded: boolean; draft: string | null }> {
  const queues = taskQueues(env);
  const queryId = `q_eval_${newId()}`;
  const handle = await deps.temporal!.workflow.start('answerQuery', {
    taskQueue: queues.main,
    workflowId: `query-${queryId}`,
    args: [{ queryId, workspaceId: ws, userId: null, question, profile: 'local', mode: 'hybrid', topK: 6, filters: {}, cacheKey: null, llmTaskQueue: queues.llm }],
  });
  const r = (await handle.result()) as { answer: string; validation: { grounded: boolean }; draft_answer?: string };
  return { answer: r.answer, grounded: r.validation.grounded, draft: r.draft_answer ?? null };
}

/** The plain baseline: the top 5 keyword (BM25) chunks, the same chat model, one short-answer instruction, no validation. */
export async function baselineAnswer(deps: Deps, retriever: Retriever, ws: string, question: string, model: string | null): Promise<string> {
  const r = await retriever.retrieve({ workspaceId: ws, question, mode: 'keyword', topK: 5, decompose: false });
  const context = r.chunks.map((c, i) => `[${i + 1}] ${chunkText(c)}`).join('\n\n');
  const { text } = await deps.llm.chat(
    model ?? 'synthesis_local',
    [{ role: 'user', content: `${context}\n\nAnswer the question from the articles above with a short answer (yes, no, a name, or a few words). If they do not contain the answer, reply "Insufficient information."\nQuestion: ${question}\nAnswer:` }],
    { workspaceId: ws, activity: 'evalBaseline' },
    { maxTokens: 48, temperature: 0 },
  );
  return text;
}
