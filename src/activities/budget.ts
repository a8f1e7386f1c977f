import { ApplicationFailure } from '@temporalio/activity';
import { publishAlert } from '../alerts-stream';
import { budgetSettings, spentToday } from '../budget';
import type { Deps } from '../deps';
import { estimateIngestionCost, type IngestionCostEstimate } from '../domain/budget';
import { EMBEDDING_FOR, chatAlias, isProfile } from '../domain/model-aliases';
import { CLASSIFICATION_MAX_TOKENS, EXTRACTION_MAX_TOKENS } from '../domain/prompts';
import { updateAndAnnounce, type IngestProfile } from './ingest';

export interface BudgetCheck {
  estimate: IngestionCostEstimate;
  approval_above_usd: number | null;
  needs_approval: boolean;
  /** The decision already made for the document's whole batch, when there is one. */
  batch_decision?: BudgetDecision;
}

export interface BudgetDecision {
  approve: boolean;
  by: string | null;
  reason?: string | null;
  /** Set by the workflow when no decision came in time. */
  timed_out?: boolean;
  /** Set when the decision was made for the document's whole batch. */
  batch_id?: string;
}

/** Recent calls of an alias needed before their average output length replaces max_tokens. */
const OBSERVED_MIN_CALLS = 5;

/** The budget gate's activities: estimate an ingestion, hold it for approval, record the decision. */
export function createBudgetActivities(deps: Deps) {
  const { db, redis, llm } = deps;

  const loadDoc = async (documentId: string) => {
    const r = await db.query(`SELECT id, workspace_id, filename, title, format, batch_id FROM documents WHERE id = $1`, [documentId]);
    if (!r.rows[0]) throw ApplicationFailure.nonRetryable(`document ${documentId} does not exist`, 'DocumentMissing');
    return r.rows[0] as { id: string; workspace_id: string; filename: string; title: string | null; format: string | null; batch_id: string | null };
  };

  const observedOutput = async (alias: string): Promise<number | undefined> => {
    const r = await db.query(
      `SELECT count(*)::int AS n, avg(tokens_out)::float AS avg FROM model_calls
        WHERE alias = $1 AND ok AND tokens_out > 0 AND at > now() - interval '7 days'`,
      [alias],
    );
    return r.rows[0].n >= OBSERVED_MIN_CALLS ? Math.ceil(r.rows[0].avg) : undefined;
  };

  /** The decision an administrator made for the whole batch, if any. */
  const batchDecisionOf = async (batchId: string | null): Promise<BudgetDecision | null> => {
    if (!batchId) return null;
    const r = (await db.query(`SELECT approve, decided_by, reason FROM batch_budget_decisions WHERE batch_id = $1`, [batchId])).rows[0];
    return r ? { approve: r.approve, by: r.decided_by, reason: r.reason, batch_id: batchId } : null;
  };

  return {
    /**
     * Estimates the ingestion's model tokens and cost from its stored chunks and the gateway's prices,
     * records the estimate on the document, and says whether it needs an administrator's approval.
     */
    async estimateIngestionBudget(documentId: string, profile: IngestProfile): Promise<BudgetCheck> {
      const doc = await loadDoc(documentId);
      const chunks = (await db.query<{ content: string }>(`SELECT content FROM chunks WHERE document_id = $1 ORDER BY position`, [documentId])).rows.map((c) => c.content);
      const settings = await budgetSettings(db, deps.env, doc.workspace_id);
      const usesModels = isProfile(profile);
      const free = { input: 0, output: 0 };
      const cls = usesModels ? chatAlias('classification', profile) : null;
      const ext = usesModels ? chatAlias('extraction', profile) : null;
      const [clsPrice, extPrice, embPrice] = await Promise.all([cls ? llm.priceOf(cls) : free, ext ? llm.priceOf(ext) : free, llm.priceOf(EMBEDDING_FOR.chunks)]);
      const estimate = estimateIngestionCost({
        title: doc.title ?? doc.filename,
        format: doc.format,
        chunks,
        chatCalls: usesModels,
        prices: { classification: clsPrice, extraction: extPrice, embedding: embPrice },
        maxOutput: { classification: CLASSIFICATION_MAX_TOKENS, extraction: EXTRACTION_MAX_TOKENS },
        observedOutput: { classification: cls ? await observedOutput(cls) : undefined, extraction: ext ? await observedOutput(ext) : undefined },
      });
      const needs = settings.approval_above_usd !== null && estimate.cost_usd > settings.approval_above_usd;
      const batchDecision = needs ? await batchDecisionOf(doc.batch_id) : null;
      const record = { estimate, approval_above_usd: settings.approval_above_usd, needs_approval: needs, prices: { classification: clsPrice, extraction: extPrice, embedding: embPrice }, estimated_at: new Date().toISOString() };
      await db.query(`UPDATE documents SET budget = $2 WHERE id = $1`, [documentId, JSON.stringify(record)]);
      return { estimate, approval_above_usd: settings.approval_above_usd, needs_approval: needs, ...(batchDecision ? { batch_decision: batchDecision } : {}) };
    },

    /**
     * Marks the document as waiting for a budget decision and tells the channels. Returns the
     * decision for its batch if one was made meanwhile (the API records a batch decision before it
     * signals the waiting documents, and this reads it after marking the document waiting, so no
     * document misses it).
     */
    async holdForBudgetApproval(documentId: string, check: BudgetCheck): Promise<BudgetDecision | null> {
      const doc = await loadDoc(documentId);
      const detail = { estimated_cost_usd: check.estimate.cost_usd, approval_above_usd: check.approval_above_usd, tokens_in: check.estimate.tokens_in, tokens_out: check.estimate.tokens_out };
      await updateAndAnnounce(redis, db, documentId, `status = 'awaiting_approval', stage = 'awaiting_approval'`, [], { stage: 'awaiting_approval', status: 'waiting', detail });
      const batchDecision = await batchDecisionOf(doc.batch_id);
      if (batchDecision) return batchDecision;
      const alerted = await redis.set(`neuronode:budget:approval-alerted:${documentId}`, '1', 'EX', 86_400, 'NX');
      if (alerted) await publishAlert(redis, { kind: 'budget_approval_required', severity: 'warning', workspace_id: doc.workspace_id, document_id: documentId, filename: doc.filename, batch_id: doc.batch_id, ...detail });
      return null;
    },

    /** Records the decision on the document (the workflow is its only writer). */
    async recordBudgetDecision(documentId: string, decision: BudgetDecision): Promise<void> {
      await db.query(`UPDATE documents SET budget = coalesce(budget, '{}'::jsonb) || jsonb_build_object('decision', $2::jsonb), updated_at = now() WHERE id = $1`, [documentId, JSON.stringify({ ...decision, at: new Date().toISOString() })]);
      await redis.del(`neuronode:budget:approval-alerted:${documentId}`);
    },

    /** Tells the document's channel that its model work is paused by the daily spend limit. */
    async notePaused(documentId: string, detail: Record<string, unknown>): Promise<void> {
      await updateAndAnnounce(redis, db, documentId, `stage = 'paused'`, [], { stage: 'paused', status: 'waiting', detail });
    },

    /** Whether the workspace may start new model work now (its daily limit, if any, not reached). */
    async spendAllowed(workspaceId: string): Promise<boolean> {
      const { daily_limit_usd: limit } = await budgetSettings(db, deps.env, workspaceId);
      return limit === null || (await spentToday(db, workspaceId)) < limit;
    },

    /** The pause is over: the document's stage is the one its work is in again. */
    async noteResumed(documentId: string, stage: string): Promise<void> {
      await updateAndAnnounce(redis, db, documentId, `stage = $2`, [stage], { stage, status: 'started', detail: { resumed: true } });
    },
  };
}
