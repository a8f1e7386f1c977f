import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { budgetSettings, spentToday } from '../budget';
import { nextUtcMidnight } from '../domain/budget';
import type { Deps } from '../deps';
import { BatchIdParam, DocumentIdParam, workspaceOf } from './documents';
import { ApiError } from './errors';
import { parse } from './validate';

/**
 * The budget gate's API (model_management): a workspace's approval threshold and daily spend limit,
 * today's spend, the ingestions waiting for a decision, and the decision itself.
 */
const usd = z.number().min(0).max(1_000_000).nullable();
export const BudgetUpdate = z
  .object({
    /** Ingestions estimated above this wait for approval; null: none waits. */
    approval_above_usd: usd.optional(),
    /** Model spend per UTC day after which new model work pauses; null: no limit. */
    daily_limit_usd: usd.optional(),
  })
  .strict()
  .refine((b) => b.approval_above_usd !== undefined || b.daily_limit_usd !== undefined, 'name approval_above_usd, daily_limit_usd or both');
export const BudgetDecisionRequest = z.object({ approve: z.boolean(), reason: z.string().max(500).optional() }).strict();

export function budgetRouter(deps: Deps): Router {
  const router = Router();

  const overview = async (ws: string) => {
    const settings = await budgetSettings(deps.db, deps.env, ws);
    const spent = await spentToday(deps.db, ws);
    const waiting = (
      await deps.db.query(
        `SELECT id AS document_id, filename, workflow_id, budget, updated_at AS since FROM documents
          WHERE workspace_id = $1 AND status = 'awaiting_approval' ORDER BY updated_at`,
        [ws],
      )
    ).rows;
    const reached = settings.daily_limit_usd !== null && spent >= settings.daily_limit_usd;
    return { ...settings, spent_today_usd: spent, daily_limit_reached: reached, resets_at: nextUtcMidnight(new Date()).toISOString(), awaiting_approval: waiting };
  };

  router.get('/admin/budget', async (req, res) => {
    res.json(await overview(workspaceOf(req)));
  });

  /** Effective at the next model call or estimate in every process (they read the row each time). */
  router.patch('/admin/budget', async (req, res) => {
    const body = parse(BudgetUpdate, req.body);
    const ws = workspaceOf(req);
    const before = await budgetSettings(deps.db, deps.env, ws);
    const next = {
      approval_above_usd: body.approval_above_usd !== undefined ? body.approval_above_usd : before.approval_above_usd,
      daily_limit_usd: body.daily_limit_usd !== undefined ? body.daily_limit_usd : before.daily_limit_usd,
    };
    await deps.db.query(
      `INSERT INTO budget_settings (workspace_id, approval_above_usd, daily_limit_usd, updated_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id) DO UPDATE SET approval_above_usd = EXCLUDED.approval_above_usd, daily_limit_usd = EXCLUDED.daily_limit_usd,
         updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [ws, next.approval_above_usd, next.daily_limit_usd, req.user!.userId],
    );
    res.locals.audit = { before: { approval_above_usd: before.approval_above_usd, daily_limit_usd: before.daily_limit_usd }, after: next };
    res.json(await overview(ws));
  });

  /** Approves or rejects an ingestion that waits for its budget decision (a signal to its workflow). */
  router.post('/documents/:id/budget-decision', async (req, res) => {
    const { id } = parse(DocumentIdParam, req.params);
    const body = parse(BudgetDecisionRequest, req.body);
    // Administrators decide over every document of their workspace, private ones included: the
    // decision reveals nothing of the content.
    // One decision per wait: the first request claims it in the row (the workflow changes the status
    // only once it has the signal, so a second request in between would otherwise be accepted and
    // ignored). A new estimate replaces the budget record, and with it the claim.
    const decision = { approve: body.approve, by: req.user!.email, reason: body.reason ?? null };
    const claimed = await deps.db.query(
      `UPDATE documents SET budget = coalesce(budget, '{}'::jsonb) || jsonb_build_object('requested', $3::jsonb)
        WHERE id = $1 AND workspace_id = $2 AND status = 'awaiting_approval' AND NOT coalesce(budget, '{}'::jsonb) ? 'requested'
        RETURNING workflow_id, budget`,
      [id, workspaceOf(req), JSON.stringify({ ...decision, at: new Date().toISOString() })],
    );
    const doc = claimed.rows[0];
    if (!doc) {
      const now = (await deps.db.query(`SELECT status, budget FROM documents WHERE id = $1 AND workspace_id = $2`, [id, workspaceOf(req)])).rows[0];
      if (!now) throw new ApiError('not_found', `no document ${id}`);
      if (now.status !== 'awaiting_approval') throw new ApiError('conflict', `document ${id} is ${now.status}, not awaiting budget approval`);
      const earlier = now.budget.requested as { approve: boolean; by: string };
      throw new ApiError('conflict', `document ${id} is not awaiting budget approval any more: ${earlier.by} has ${earlier.approve ? 'approved' : 'rejected'} it`);
    }
    try {
      await deps.temporal!.workflow.getHandle(doc.workflow_id).signal('budgetDecision', decision);
    } catch (err) {
      // Not delivered: the claim goes, so the decision can be given again.
      await deps.db.query(`UPDATE documents SET budget = budget - 'requested' WHERE id = $1`, [id]);
      throw err;
    }
    res.locals.audit = { document_id: id, approve: body.approve, estimated_cost_usd: doc.budget?.estimate?.cost_usd ?? null };
    res.status(202).json({ document_id: id, workflow_id: doc.workflow_id, approve: body.approve });
  });

  /**
   * One decision for a whole ingestion batch: recorded first, then sent to every document of the
   * batch waiting now; documents of the batch that reach the gate later take it without waiting.
   */
  router.post('/documents/batch/:batchId/budget-decision', async (req, res) => {
    const { batchId } = parse(BatchIdParam, req.params);
    const body = parse(BudgetDecisionRequest, req.body);
    const ws = workspaceOf(req);
    const inBatch = (await deps.db.query(`SELECT count(*)::int AS n FROM documents WHERE batch_id = $1 AND workspace_id = $2`, [batchId, ws])).rows[0].n as number;
    if (inBatch === 0) throw new ApiError('not_found', `no ingestion batch ${batchId}`);
    const inserted = await deps.db.query(
      `INSERT INTO batch_budget_decisions (batch_id, workspace_id, approve, decided_by, reason) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id`,
      [batchId, ws, body.approve, req.user!.email, body.reason ?? null],
    );
    if (inserted.rowCount === 0) throw new ApiError('conflict', `batch ${batchId} already has a budget decision`);
    const waiting = (await deps.db.query(`SELECT id, workflow_id FROM documents WHERE batch_id = $1 AND workspace_id = $2 AND status = 'awaiting_approval'`, [batchId, ws])).rows;
    for (const d of waiting) {
      await deps.temporal!.workflow.getHandle(d.workflow_id).signal('budgetDecision', { approve: body.approve, by: req.user!.email, reason: body.reason ?? null, batch_id: batchId }).catch((e: unknown) => {
        // A document that stopped waiting meanwhile (deleted, timed out) needs no signal.
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      });
    }
    res.locals.audit = { batch_id: batchId, approve: body.approve, documents_waiting: waiting.length };
    res.status(202).json({ batch_id: batchId, approve: body.approve, documents: inBatch, signalled: waiting.map((d) => d.id) });
  });

  return router;
}
