import {
  ApplicationFailure,
  CancellationScope,
  ActivityFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  startChild,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  patched,
  sleep,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import type { IngestProfile } from '../activities/ingest';
import type { BudgetCheck, BudgetDecision } from '../activities/budget';

/** Store-bound stages: quick, retried with backoff through outages of any store. */
const stores = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  // Activities heartbeat every 3 s: a dead worker's activity is retried elsewhere within 20 s.
  heartbeatTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 30, nonRetryableErrorTypes: ['UnsupportedFormat', 'CorruptDocument', 'ArchiveBomb', 'EmptyDocument', 'DocumentMissing'] },
});

export interface IngestInput {
  documentId: string;
  workspaceId: string;
  profile: IngestProfile;
  /** @default 220 */
  chunkTokens?: number;
  /** @default 30 */
  overlapTokens?: number;
  /** Cosine similarity above which two same-type entities merge; by default the embedding model's own (entityMergeSimilarity). */
  entitySimilarity?: number;
  /** Task queue of the LLM-bound activities (bounded concurrency). */
  llmTaskQueue: string;
  /** A re-run: first remove what the previous run wrote (its chunk count may differ). */
  reprocess?: boolean;
  /** The budget gate's timing (from configuration when the ingestion starts). */
  budget?: { approvalTimeoutMs: number; recheckMs: number };
}

export interface IngestProgress {
  stage: string;
  percent: number;
  chunks_total: number;
  chunks_done: number;
  entities: number;
  relations: number;
  tokens: number;
  cost_usd: number;
  errors: string[];
  /** The budget gate's estimate and, once made, its decision. */
  budget?: BudgetCheck & { decision?: BudgetDecision };
  /** Why model work waits now (the day's spend limit), and until when at the latest. */
  paused?: { reason: string; since: string; resume_at?: string } | null;
}

export const progressQuery = defineQuery<IngestProgress>('progress');
export const cancelSignal = defineSignal('cancel');
/** An administrator's answer to an ingestion waiting for budget approval. */
export const budgetDecisionSignal = defineSignal<[BudgetDecision]>('budgetDecision');

/** The failure type the LLM client's spend guard raises when the day's limit is reached. */
const SPEND_LIMIT = 'DailySpendLimit';

const STAGE_PERCENT: Record<string, number> = {
  queued: 0, detect: 5, extract: 10, metadata: 20, chunk: 25, awaiting_approval: 25, rejected: 100, classify: 30, entities: 35, resolve: 75, embed: 80, graph: 90, done: 100, failed: 100, cancelled: 100,
};

/**
 * Ingests one stored document: detect → extract → metadata → chunk → classify → entities and
 * relations (parallel, bounded batches) → resolve → embed + Chroma → Neo4j → done. Every stage is
 * an idempotent activity; the history holds ids and counts only.
 */
export async function ingestDocument(input: IngestInput): Promise<IngestProgress & { status: string }> {
  const { documentId, workspaceId, profile } = input;
  const models = proxyActivities<Activities>({
    taskQueue: input.llmTaskQueue,
    // A batch of three chunks on a CPU model takes up to a minute; the gateway may also be slow.
    startToCloseTimeout: '10m',
    heartbeatTimeout: '20s',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8, nonRetryableErrorTypes: ['ClassificationInvalid', 'ExtractionInvalid', 'DocumentMissing'] },
  });
  const progress: IngestProgress = { stage: 'queued', percent: 0, chunks_total: 0, chunks_done: 0, entities: 0, relations: 0, tokens: 0, cost_usd: 0, errors: [] };
  const stage = (name: string) => {
    progress.stage = name;
    progress.percent = STAGE_PERCENT[name] ?? progress.percent;
    upsertSearchAttributes({ Stage: [name] });
  };
  setHandler(progressQuery, () => progress);
  let decision: BudgetDecision | undefined;
  setHandler(budgetDecisionSignal, (d) => {
    decision ??= d;
  });
  const budget = input.budget ?? { approvalTimeoutMs: 7 * 24 * 3_600_000, recheckMs: 60_000 };

  /**
   * Runs one model-bound step; while the workspace's daily spend limit holds, the step waits
   * (re-checking every `recheckMs`) instead of failing, then runs again.
   */
  const modelStep = async <T>(run: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        const r = await run();
        if (progress.paused) {
          progress.paused = null;
          await stores.noteResumed(documentId, progress.stage);
        }
        return r;
      } catch (err) {
        const cause = err instanceof ActivityFailure ? err.cause : undefined;
        if (!(cause instanceof ApplicationFailure && cause.type === SPEND_LIMIT)) throw err;
        const detail = (cause.details?.[0] ?? {}) as { resume_at?: string };
        progress.paused = { reason: cause.message, since: new Date().toISOString(), resume_at: detail.resume_at };
        await stores.notePaused(documentId, { reason: cause.message, resume_at: detail.resume_at ?? null });
        // Waits without calling a model until the limit no longer holds (raised, or a new day).
        do await sleep(budget.recheckMs);
        while (!(await stores.spendAllowed(workspaceId)));
      }
    }
  };
  const scope = new CancellationScope();
  setHandler(cancelSignal, () => scope.cancel());
  upsertSearchAttributes({ DocumentId: [documentId], WorkspaceId: [workspaceId], IngestStatus: ['processing'] });

  let rejected = false;
  try {
    await scope.run(async () => {
      if (input.reprocess) await stores.cleanupDocumentData(documentId, workspaceId);
      stage('detect');
      const detected = await stores.detectDocumentFormat(documentId);
      stage('extract');
      const extracted = await stores.extractDocumentContent(documentId, detected);
      // E-mail attachments are documents of their own, each with its own ingestion.
      for (const a of extracted.attachments) {
        await startChild(ingestDocument, {
          workflowId: `ingest-${a.documentId}`,
          args: [{ ...input, documentId: a.documentId, reprocess: false }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        }).catch((err: unknown) => {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        });
      }
      stage('metadata');
      await stores.extractDocumentMetadata(documentId);
      stage('chunk');
      const chunked = await stores.chunkDocument(documentId, { maxTokens: input.chunkTokens ?? 220, overlapTokens: input.overlapTokens ?? 30 });
      progress.chunks_total = chunked.chunks;

      // The budget gate: the estimate from the chunks and the gateway's prices, before any model call.
      if (patched('budget-gate')) {
        const check = await stores.estimateIngestionBudget(documentId, profile);
        progress.budget = check;
        if (check.needs_approval) {
          // A decision for the whole batch stands for this document too; otherwise it waits for one.
          if (check.batch_decision) decision ??= check.batch_decision;
          else {
            stage('awaiting_approval');
            const meanwhile = await stores.holdForBudgetApproval(documentId, check);
            if (meanwhile) decision ??= meanwhile;
          }
          const answered = await condition(() => decision !== undefined, budget.approvalTimeoutMs);
          const final: BudgetDecision = answered ? decision! : { approve: false, by: null, reason: 'no decision in time', timed_out: true };
          progress.budget = { ...check, decision: final };
          await stores.recordBudgetDecision(documentId, final);
          if (!final.approve) {
            // Rejected: nothing of the document stays in any store but its record and original.
            await stores.cleanupDocumentData(documentId, workspaceId);
            await stores.failDocument(documentId, { type: 'BudgetRejected', message: `the estimated ${check.estimate.cost_usd} USD is above the approval limit of ${check.approval_above_usd} USD and was ${final.timed_out ? 'not approved in time' : 'rejected'}${final.reason ? `: ${final.reason}` : ''}`, stage: 'awaiting_approval' }, 'rejected');
            upsertSearchAttributes({ IngestStatus: ['rejected'] });
            stage('rejected');
            rejected = true;
            return;
          }
        }
      }

      stage('classify');
      const cls = await modelStep(() => models.classifyDocument(documentId, profile));
      progress.tokens += cls.tokens;
      progress.cost_usd += cls.costUsd;

      stage('entities');
      // LLM batches match the extraction schema's chunk index bound (3 chunks per call).
      const batchSize = profile === 'nlp' ? 25 : 3;
      const batches = Math.ceil(chunked.chunks / batchSize);
      // A bounded window of batches in flight: the LLM queue's own concurrency limit does the rest.
      const window = profile === 'nlp' ? 4 : 2;
      let next = 0;
      const worker = async () => {
        while (next < batches) {
          const b = next++;
          const r = await modelStep(() => models.extractEntitiesBatch(documentId, profile, b, batchSize));
          progress.chunks_done = Math.min(chunked.chunks, progress.chunks_done + batchSize);
          progress.tokens += r.tokens;
          progress.cost_usd += r.costUsd;
          progress.percent = 35 + Math.round((40 * progress.chunks_done) / Math.max(1, chunked.chunks));
        }
      };
      await Promise.all(Array.from({ length: Math.min(window, batches) }, worker));

      stage('resolve');
      const resolved = await stores.resolveDocumentEntities(documentId, batches, input.entitySimilarity ?? null);
      progress.entities = resolved.entities;
      progress.relations = resolved.relations;
      stage('embed');
      const indexed = await stores.embedAndIndexDocument(documentId);
      stage('graph');
      const written = await stores.writeDocumentGraph(documentId);
      await stores.completeDocument(documentId, {
        chunks: chunked.chunks,
        tokens_indexed: chunked.tokens,
        entities: resolved.entities,
        relations: resolved.relations,
        chunk_vectors: indexed.chunkVectors,
        entity_vectors: indexed.entityVectors,
        mentions: written.mentions,
        references: written.references,
        attachments: extracted.attachments.length,
        llm_tokens: progress.tokens,
      });
      stage('done');
    });
    if (rejected) return { ...progress, status: 'rejected' };
    upsertSearchAttributes({ IngestStatus: ['completed'] });
    return { ...progress, status: 'completed' };
  } catch (err) {
    const cancelled = isCancellation(err);
    const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err instanceof ApplicationFailure ? err : undefined;
    const failure = { type: cancelled ? 'Cancelled' : (cause?.type ?? 'Error'), message: cancelled ? 'cancelled on request' : (cause?.message ?? (err as Error).message), stage: progress.stage };
    progress.errors.push(`${failure.type}: ${failure.message}`);
    // Clean-up must run even though the scope was cancelled.
    await CancellationScope.nonCancellable(async () => {
      await stores.cleanupDocumentData(documentId, workspaceId);
      await stores.failDocument(documentId, failure, cancelled ? 'cancelled' : 'failed');
    });
    upsertSearchAttributes({ IngestStatus: [cancelled ? 'cancelled' : 'failed'] });
    stage(cancelled ? 'cancelled' : 'failed');
    if (cancelled) return { ...progress, status: 'cancelled' };
    throw ApplicationFailure.nonRetryable(`ingestion of ${documentId} failed at ${failure.stage}: ${failure.message}`, failure.type);
  }
}
