import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AnswerInput, AnswerResponse, StageInfo } from '../activities/query';
import { queryStreamKey } from '../domain/query-stream';

/** Retrieval and bookkeeping: local activities on the workflow's own worker (no task-queue round trip). */
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 4 },
});

const INSUFFICIENT = 'Insufficient information.';
/** Mirrors MIN_COVERAGE of the activities (workflow code imports no activity module). */
const MIN_COVERAGE = 0.5;

export interface AnswerWorkflowInput extends AnswerInput {
  llmTaskQueue: string;
  /** Restrict retrieval to documents this user may read (undefined: no document-level restriction). */
  readableBy?: string | null;
}

/**
 * The question pipeline of the seed: intent → planning and hybrid retrieval → context synthesis →
 * cited answer → validation. Intent runs beside retrieval. An answer its validators cannot ground
 * becomes "Insufficient information." (the draft is kept for inspection); one whose unsupported
 * sentences validation left out is the rest (the whole draft kept beside it). The result goes to the
 * history (and the cache) exactly once.
 */
export async function answerQuery(input: AnswerWorkflowInput): Promise<AnswerResponse> {
  const llm = proxyActivities<Activities>({
    taskQueue: input.llmTaskQueue,
    startToCloseTimeout: '5m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: ['LlmOutputInvalid'] },
  });
  const started = Date.now();
  const request = { question: input.question, profile: input.profile, mode: input.mode, top_k: input.topK, filters: input.filters, generate: input.generate !== false };
  try {
    const generate = input.generate !== false;
    const streamKey = input.stream ? queryStreamKey(input.queryId) : undefined;
    const [intent, retrieval] = await Promise.all([
      generate ? llm.analyzeIntent({ workspaceId: input.workspaceId, question: input.question, profile: input.profile, streamKey }) : local.analyzeIntent({ workspaceId: input.workspaceId, question: input.question, profile: input.profile, useModel: false, streamKey }),
      local.retrieveForQuestion({ workspaceId: input.workspaceId, question: input.question, mode: input.mode, topK: input.topK, filters: input.filters, readableBy: input.readableBy, streamKey }),
    ]);
    const stages: Record<string, StageInfo> = { intent: intent.stage, retrieval: { ...retrieval.stage } };
    for (const [k, v] of Object.entries(retrieval.timings)) stages[`retrieval.${k}`] = { ms: v };
    const reasons: string[] = [];
    let answer = INSUFFICIENT;
    let draft: string | undefined;
    let grounded = false;
    let modelFailed = false;
    let score = 0;
    let citations: AnswerResponse['citations'] = [];

    if (!generate) {
      reasons.push('retrieval only: no answer was requested');
    } else if (retrieval.chunks.length === 0) {
      reasons.push('nothing in the workspace matches the question');
    } else if (retrieval.coverage.share < MIN_COVERAGE) {
      reasons.push(`the sources found do not cover the question (${Math.round(retrieval.coverage.share * 100)}% of its terms; missing: ${retrieval.coverage.missing.slice(0, 8).join(', ')})`);
    } else {
      let gen: Awaited<ReturnType<Activities['generateAnswer']>> | null = null;
      // An answer spoilt by a model failure (an outage, the spend limit) is not cached.
      try {
        gen = await llm.generateAnswer({ workspaceId: input.workspaceId, question: input.question, intent: intent.intent, profile: input.profile, chunks: retrieval.chunks, streamKey });
        stages.synthesis = gen.synthesis;
        stages.generation = gen.stage;
        const flagged = gen.sources.filter((s) => s.flagged).map((s) => s.n);
        if (flagged.length) reasons.push(`instruction-like text was removed from source(s) ${flagged.join(', ')} before any model saw it`);
        if (gen.incompleteFlag) reasons.push('the model marked its answer as possibly incomplete');
        // Undefined in the histories of answers generated before citations were re-pointed.
        if (gen.repointed) reasons.push(`${gen.repointed} sentence(s) cited a source that does not state them and now cite the one that does`);
        if (gen.deniedYes) reasons.push('the model said yes where the source sentence that states the question says no; the answer says no and quotes that sentence');
      } catch (err) {
        if (isCancellation(err)) throw err;
        reasons.push(`the model gave no usable answer: ${failureMessage(err)}`);
        modelFailed = true;
      }
      if (gen && gen.insufficient) {
        reasons.push('the model found no answer in the sources');
      } else if (gen) {
        const textOf = (sentences: typeof gen.sentences) => sentences.map((s) => `${s.text}${s.sources.map((n) => ` [${n}]`).join('')}`).join(' ');
        // The sentences validation judged: all of the draft, or those found in their sources when
        // the others were left out (results recorded before that was possible have none: all of it).
        let judged = gen.sentences;
        try {
          const v = await llm.validateAnswer({ workspaceId: input.workspaceId, question: input.question, profile: input.profile, sources: gen.sources, sentences: gen.sentences, streamKey });
          Object.assign(stages, v.stages);
          reasons.push(...v.reasons);
          grounded = v.grounded;
          score = v.score;
          judged = v.sentences ?? gen.sentences;
        } catch (err) {
          if (isCancellation(err)) throw err;
          reasons.push(`validation could not run: ${failureMessage(err)}`);
          modelFailed = true;
        }
        // The whole draft is kept for inspection whenever it is not the answer as it stands.
        if (grounded) answer = textOf(judged);
        if (!grounded || judged.length < gen.sentences.length) draft = textOf(gen.sentences);
        const used = new Set(grounded ? judged.flatMap((s) => s.sources) : []);
        citations = gen.sources
          .filter((s) => used.has(s.n))
          .map((s) => ({ n: s.n, document_id: s.chunk.document_id, title: s.chunk.title, chunk_id: s.chunk.chunk_id, page: s.chunk.page, snippet: s.text.slice(0, 300), score: s.chunk.score }));
      }
    }
    const tokens = Object.values(stages).reduce((a, s) => a + (s.tokens ?? 0), 0);
    const cost = Object.values(stages).reduce((a, s) => a + (s.cost_usd ?? 0), 0);
    const response: AnswerResponse = {
      query_id: input.queryId,
      workflow_id: workflowInfo().workflowId,
      question: input.question,
      answer,
      ...(draft !== undefined ? { draft_answer: draft } : {}),
      intent: intent.intent,
      citations,
      entities: retrieval.plan.entities.map((e) => ({ id: e.id, name: e.name, type: e.type })),
      graph_paths: retrieval.graphPaths,
      validation: { grounded, score, reasons },
      stages,
      tokens,
      cost_usd: +cost.toFixed(6),
      cached: false,
      ...(generate ? {} : { answer: '', retrieved: retrieval.chunks.map((c) => ({ chunk_id: c.chunk_id, document_id: c.document_id, title: c.title, page: c.page, score: c.score, ranks: c.ranks })) }),
    };
    await local.recordQuery({ queryId: input.queryId, workspaceId: input.workspaceId, userId: input.userId, question: input.question, request, response, status: 'completed', batchId: input.batchId, batchIndex: input.batchIndex, cacheKey: modelFailed ? null : input.cacheKey, durationMs: Date.now() - started });
    return response;
  } catch (err) {
    if (!isCancellation(err)) {
      await CancellationScope.nonCancellable(() =>
        local.recordQuery({ queryId: input.queryId, workspaceId: input.workspaceId, userId: input.userId, question: input.question, request, response: null, status: 'failed', error: failureMessage(err), batchId: input.batchId, batchIndex: input.batchIndex, durationMs: Date.now() - started }),
      );
    }
    throw err;
  }
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  if (err instanceof ApplicationFailure) return err.message;
  return (err as Error).message ?? String(err);
}
