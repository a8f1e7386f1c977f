import type { Request } from 'express';
import type { Deps } from '../deps';

/** One row of the append-only audit log. */
export interface AuditEntry {
  action: string;
  outcome: 'success' | 'failure' | 'denied';
  workspaceId?: string | null;
  actorId?: string | null;
  actorEmail?: string | null;
  role?: string | null;
  resource?: string | null;
  status?: number | null;
  requestId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown> | null;
}

/** Appends a row. A failed write is logged (never the request's secrets) and does not throw. */
export async function writeAudit(deps: Pick<Deps, 'db'>, e: AuditEntry): Promise<void> {
  try {
    await deps.db.query(
      `INSERT INTO audit_log (workspace_id, actor_id, actor_email, role, action, resource, outcome, status, request_id, ip, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [e.workspaceId ?? null, e.actorId ?? null, e.actorEmail ?? null, e.role ?? null, e.action, e.resource ?? null, e.outcome, e.status ?? null, e.requestId ?? null, e.ip ?? null, e.details ? JSON.stringify(e.details) : null],
    );
  } catch (err) {
    console.error(`audit write failed for ${e.action}:`, (err as Error).message);
  }
}

/** The request's actor and context for an audit row. */
export function auditContext(req: Request, res: { locals: Record<string, unknown> }): Pick<AuditEntry, 'workspaceId' | 'actorId' | 'actorEmail' | 'role' | 'requestId' | 'ip'> {
  const p = req.user;
  return { workspaceId: p?.workspaceId ?? null, actorId: p?.userId ?? null, actorEmail: p?.email ?? null, role: p?.role ?? null, requestId: String(res.locals.requestId ?? ''), ip: req.ip ?? null };
}
