import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { SqlFilter, transaction } from '../adapters';
import type { Deps } from '../deps';
import { hashPassword } from './auth';
import { workspaceOf } from './documents';
import { ApiError } from './errors';
import { ROLES } from './rbac';
import { isoInstant, parse } from './validate';

/**
 * Administration (the user_management permission): the members of the administrator's workspace,
 * new users, role changes and disabling, new workspaces, and the audit log. Every change is audited
 * by the request middleware; `res.locals.audit` adds what changed.
 */
export const CreateUserRequest = z
  .object({
    email: z.email().max(320),
    password: z.string().min(12, 'passwords have at least 12 characters').max(200),
    role: z.enum(ROLES).default('user'),
  })
  .strict();
export const UpdateUserRequest = z
  .object({ role: z.enum(ROLES).optional(), disabled: z.boolean().optional() })
  .strict()
  .refine((b) => b.role !== undefined || b.disabled !== undefined, { message: 'give role or disabled' });
export const UserIdParam = z.object({ id: z.uuid() });
export const UserListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), offset: z.coerce.number().int().min(0).max(1_000_000).default(0) }).strict();
export const CreateWorkspaceRequest = z.object({ id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes'), name: z.string().trim().min(1).max(200) }).strict();
export const AddMemberRequest = z.object({ email: z.email().max(320), role: z.enum(ROLES).default('user') }).strict();
export const AuditQuery = z
  .object({
    action: z.string().max(200).optional(),
    outcome: z.enum(['success', 'failure', 'denied']).optional(),
    actor_id: z.uuid().optional(),
    from: isoInstant.optional(),
    to: isoInstant.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
  })
  .strict();

export function adminRouter(deps: Deps): Router {
  const router = Router();

  router.get('/users', async (req, res) => {
    const q = parse(UserListQuery, req.query);
    const ws = workspaceOf(req);
    const total = (await deps.db.query(`SELECT count(*)::int AS n FROM workspace_members WHERE workspace_id = $1`, [ws])).rows[0].n;
    const rows = (
      await deps.db.query(
        `SELECT u.id, u.email, m.role, u.disabled, u.created_at FROM workspace_members m JOIN users u ON u.id = m.user_id
          WHERE m.workspace_id = $1 ORDER BY u.email LIMIT $2 OFFSET $3`,
        [ws, q.limit, q.offset],
      )
    ).rows;
    res.json({ total, limit: q.limit, offset: q.offset, users: rows });
  });

  router.post('/users', async (req, res) => {
    const body = parse(CreateUserRequest, req.body);
    const ws = workspaceOf(req);
    const id = randomUUID();
    const hash = await hashPassword(body.password);
    await transaction(deps.db, async (client) => {
      const r = await client.query(`INSERT INTO users (id, email, password_hash, role) VALUES ($1, lower($2), $3, $4) ON CONFLICT (email) DO NOTHING RETURNING id`, [id, body.email, hash, body.role]);
      if (!r.rowCount) throw new ApiError('conflict', `a user with e-mail ${body.email.toLowerCase()} exists; add them to this workspace with POST /api/admin/members`);
      await client.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)`, [ws, id, body.role]);
    });
    res.locals.audit = { user_id: id, email: body.email.toLowerCase(), role: body.role };
    res.status(201).json({ id, email: body.email.toLowerCase(), role: body.role, disabled: false, workspace_id: ws });
  });

  router.patch('/users/:id', async (req, res) => {
    const { id } = parse(UserIdParam, req.params);
    const body = parse(UpdateUserRequest, req.body);
    const ws = workspaceOf(req);
    if (id === req.user!.userId) throw new ApiError('conflict', 'administrators cannot change their own role or disable themselves; ask another administrator');
    const member = (await deps.db.query(`SELECT m.role, u.disabled FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2`, [ws, id])).rows[0];
    if (!member) throw new ApiError('not_found', `no user ${id} in this workspace`);
    // An account is the installation's, not one workspace's: only an installation administrator
    // may disable it (a workspace administrator would lock the user out of every other workspace).
    if (body.disabled !== undefined && !req.user!.installationAdmin) throw new ApiError('forbidden', 'disabling an account is an installation-wide control: it needs an installation administrator', { required: 'installation' });
    if (body.role) {
      await deps.db.query(`UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2`, [ws, id, body.role]);
      await deps.db.query(`UPDATE users SET role = $2, updated_at = now() WHERE id = $1`, [id, body.role]);
    }
    if (body.disabled !== undefined) {
      await deps.db.query(`UPDATE users SET disabled = $2, updated_at = now() WHERE id = $1`, [id, body.disabled]);
      // A disabled account's sessions end now: no refresh, and access tokens fail on their next use.
      if (body.disabled) await deps.db.query(`UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE user_id = $1`, [id]);
    }
    res.locals.audit = { user_id: id, before: { role: member.role, disabled: member.disabled }, after: body };
    const after = (await deps.db.query(`SELECT u.id, u.email, m.role, u.disabled FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2`, [ws, id])).rows[0];
    res.json(after);
  });

  router.post('/workspaces', async (req, res) => {
    const body = parse(CreateWorkspaceRequest, req.body);
    const r = await deps.db.query(`INSERT INTO workspaces (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`, [body.id, body.name]);
    if (!r.rowCount) throw new ApiError('conflict', `workspace ${body.id} exists`);
    await deps.db.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'admin')`, [body.id, req.user!.userId]);
    res.locals.audit = { workspace_id: body.id };
    res.status(201).json({ id: body.id, name: body.name, role: 'admin' });
  });

  router.post('/members', async (req, res) => {
    const body = parse(AddMemberRequest, req.body);
    const ws = workspaceOf(req);
    const user = (await deps.db.query(`SELECT id, email FROM users WHERE email = lower($1)`, [body.email])).rows[0];
    if (!user) throw new ApiError('not_found', `no user with e-mail ${body.email.toLowerCase()}; create one with POST /api/admin/users`);
    await deps.db.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role`, [ws, user.id, body.role]);
    res.locals.audit = { user_id: user.id, role: body.role };
    res.status(201).json({ workspace_id: ws, user_id: user.id, email: user.email, role: body.role });
  });

  router.get('/audit', async (req, res) => {
    const q = parse(AuditQuery, req.query);
    const ws = workspaceOf(req);
    // Rows without a workspace (failed logins) are shown only where their account is a member, and
    // those of unknown accounts only to installation administrators.
    const f = new SqlFilter(
      [
        `(workspace_id = $1 OR (workspace_id IS NULL AND (
           EXISTS (SELECT 1 FROM workspace_members m LEFT JOIN users u ON u.id = m.user_id
                    WHERE m.workspace_id = $1 AND (m.user_id = audit_log.actor_id OR u.email = audit_log.actor_email))
           OR ($2 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = audit_log.actor_id OR u.email = audit_log.actor_email)))))`,
      ],
      [ws, req.user!.installationAdmin],
    );
    if (q.action) f.add('action = ?', q.action);
    if (q.outcome) f.add('outcome = ?', q.outcome);
    if (q.actor_id) f.add('actor_id = ?', q.actor_id);
    if (q.from) f.add('at >= ?', q.from);
    if (q.to) f.add('at <= ?', q.to);
    const total = (await deps.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE ${f.sql}`, f.params)).rows[0].n;
    const rows = (await deps.db.query(`SELECT * FROM audit_log WHERE ${f.sql} ORDER BY id DESC LIMIT ${q.limit} OFFSET ${q.offset}`, f.params)).rows;
    res.json({ total, limit: q.limit, offset: q.offset, entries: rows.map((r) => ({ ...r, id: Number(r.id) })) });
  });

  return router;
}
