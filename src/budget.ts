import { ApplicationFailure } from '@temporalio/common';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { publishAlert } from './alerts-stream';
import type { Env } from './config';
import { nextUtcMidnight } from './domain/budget';

/**
 * The budget gate's shared part: a workspace's limits (its own row, or the configured defaults),
 * what it has spent today, and the guard every LLM call passes first. When the day's limit is
 * reached the guard refuses new calls with a non-retryable `DailySpendLimit` failure: ingestion
 * pauses on it (and resumes when the limit is raised or the day turns), a question fails clearly.
 */
export interface BudgetSettings {
  workspace_id: string;
  approval_above_usd: number | null;
  daily_limit_usd: number | null;
  source: 'workspace' | 'defaults';
}

export const SPEND_LIMIT_FAILURE = 'DailySpendLimit';

export async function budgetSettings(db: Pool, env: Pick<Env, 'BUDGET_APPROVAL_USD' | 'BUDGET_DAILY_USD'>, workspaceId: string): Promise<BudgetSettings> {
  const r = await db.query(`SELECT approval_above_usd, daily_limit_usd FROM budget_settings WHERE workspace_id = $1`, [workspaceId]);
  if (r.rows[0]) return { workspace_id: workspaceId, approval_above_usd: num(r.rows[0].approval_above_usd), daily_limit_usd: num(r.rows[0].daily_limit_usd), source: 'workspace' };
  return { workspace_id: workspaceId, approval_above_usd: env.BUDGET_APPROVAL_USD ?? null, daily_limit_usd: env.BUDGET_DAILY_USD ?? null, source: 'defaults' };
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Model spend of the workspace since midnight UTC, from the per-call records. */
export async function spentToday(db: Pool, workspaceId: string): Promise<number> {
  const r = await db.query(
    `SELECT coalesce(sum(cost_usd), 0)::float AS usd FROM model_calls
      WHERE workspace_id = $1 AND at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
    [workspaceId],
  );
  return r.rows[0].usd as number;
}

/**
 * The guard the LLM client runs before each call of a workspace. Raises one `budget_daily_limit`
 * alert per workspace and day when it first refuses.
 */
export function createSpendGuard(db: Pool, redis: Redis, env: Pick<Env, 'BUDGET_APPROVAL_USD' | 'BUDGET_DAILY_USD'>) {
  return async (workspaceId: string | undefined): Promise<void> => {
    if (!workspaceId) return;
    const { daily_limit_usd: limit } = await budgetSettings(db, env, workspaceId);
    if (limit === null) return;
    const spent = await spentToday(db, workspaceId);
    if (spent < limit) return;
    const now = new Date();
    const resumeAt = nextUtcMidnight(now).toISOString();
    const day = now.toISOString().slice(0, 10);
    if (await redis.set(`neuronode:budget:alerted:${workspaceId}:${day}`, '1', 'EX', 2 * 86_400, 'NX')) {
      await publishAlert(redis, { kind: 'budget_daily_limit', severity: 'warning', workspace_id: workspaceId, limit_usd: limit, spent_usd: spent, resume_at: resumeAt });
    }
    throw ApplicationFailure.create({
      type: SPEND_LIMIT_FAILURE,
      nonRetryable: true,
      message: `the workspace ${workspaceId} has spent ${spent.toFixed(6)} USD on models today, at or above its daily limit of ${limit} USD; new model work waits until ${resumeAt} or a higher limit`,
      details: [{ limit_usd: limit, spent_usd: spent, resume_at: resumeAt }],
    });
  };
}
