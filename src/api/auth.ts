import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import argon2 from 'argon2';
import pLimit from 'p-limit';
import { parse as parseCookie } from 'cookie';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import jwt from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy, type StrategyOptionsWithRequest } from 'passport-jwt';
import { z } from 'zod';
import { transaction } from '../adapters';
import type { Env } from '../config';
import type { Deps } from '../deps';
import { auditContext, writeAudit } from './audit';
import { ApiError } from './errors';
import type { RateLimits } from './rate-limit';
import { permissionsOf, type Role } from './rbac';
import { parse } from './validate';

/**
 * Authentication: argon2id password hashes, short-lived HS256 access tokens (passport-jwt) and
 * rotating refresh tokens stored as hashes. A refresh token used twice means it was stolen: the
 * whole family is revoked. The workspace of a request is the token's, or the one named in
 * `X-Workspace-Id` when the user is a member there; the role is the membership's, read on every
 * request, so a role change or a disabled account takes effect at once.
 */
export interface Principal {
  userId: string;
  email: string;
  role: Role;
  /** May use installation-wide controls (not a workspace role: users.installation_admin). */
  installationAdmin: boolean;
  workspaceId: string;
  jti: string;
  exp: number;
  /** The session (refresh-token family) of the access token. */
  familyId: string | null;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends Principal {}
  }
}

const ISSUER = 'neuronode';
const AUDIENCE = 'neuronode-api';
const WORKSPACE_HEADER = 'x-workspace-id';
/** The Redis key that marks an access token as revoked (logout) until its expiry. */
export const revokedKey = (jti: string) => `neuronode:auth:revoked:${jti}`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Browser sessions keep the refresh token in an httpOnly, SameSite=Strict cookie that only the auth
 * routes receive, so page scripts never hold it. A request that relies on the cookie must also carry
 * the session header: a custom header no cross-origin page can send without CORS allowing it, which
 * keeps other sites (and other ports of the same host, which SameSite counts as the same site) from
 * spending the cookie.
 */
export const SESSION_COOKIE = 'neuronode_refresh';
export const SESSION_HEADER = 'x-neuronode-session';
function cookieToken(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const value = parseCookie(header)[SESSION_COOKIE];
  if (!value) return undefined;
  if (req.get(SESSION_HEADER) !== 'cookie') throw new ApiError('forbidden', `a request that uses the session cookie must send the ${SESSION_HEADER}: cookie header`);
  return value;
}
function setSessionCookie(req: Request, res: Response, token: string, maxAgeSeconds: number): void {
  res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/api/auth', maxAge: maxAgeSeconds * 1000 });
}
function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/api/auth' });
}

export const LoginRequest = z
  .object({
    email: z.email().max(320),
    password: z.string().min(1).max(200),
    workspace_id: z.string().min(1).max(100).optional(),
    /** `cookie`: the refresh token goes into an httpOnly cookie (a browser session) instead of the body. */
    session: z.enum(['token', 'cookie']).optional(),
  })
  .strict();
/** Without `refresh_token`, the session cookie's token (a browser session; needs the session header). */
export const RefreshRequest = z.object({ refresh_token: z.string().min(10).max(200).optional() }).strict();
export const LogoutRequest = z.object({ refresh_token: z.string().min(10).max(200).optional() }).strict();

/**
 * Password hashing: argon2id at an explicit cost (OWASP's 19 MiB, 2 passes, one lane), and at most two
 * hashes or verifications at a time in a process (two cores): a flood of logins queues instead of
 * exhausting memory and CPU for everything else.
 */
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const hashing = pLimit(2);
export const hashPassword = (password: string) => hashing(() => argon2.hash(password, ARGON2));
/** Verifies a password; a hash that is not an argon2 hash (corrupt row) counts as a wrong password. */
const verifyPassword = (hash: string, password: string) =>
  hashing(async () => {
    try {
      return await argon2.verify(hash, password);
    } catch (err) {
      if (err instanceof TypeError || /pchstr|hash/i.test((err as Error).message)) return false;
      throw err;
    }
  });

interface AccessClaims {
  sub: string;
  ws: string;
  typ: 'access';
  jti: string;
  exp: number;
  /** The session (refresh-token family) the token belongs to: logout ends it without the refresh token. */
  fam?: string;
}

export function signAccessToken(env: Env, userId: string, workspaceId: string, familyId: string): { token: string; expiresIn: number } {
  const expiresIn = env.ACCESS_TOKEN_MINUTES * 60;
  const token = jwt.sign({ ws: workspaceId, typ: 'access', fam: familyId }, env.JWT_SECRET_KEY, {
    algorithm: 'HS256',
    subject: userId,
    expiresIn,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwtid: randomUUID(),
  });
  return { token, expiresIn };
}

/** The principal behind verified claims: null when the user is gone or disabled or the token revoked. */
async function principalOf(deps: Deps, claims: AccessClaims, requestedWorkspace: string | undefined): Promise<Principal | null> {
  if (claims.typ !== 'access' || !claims.sub || !claims.jti) return null;
  if (await deps.redis.exists(revokedKey(claims.jti))) return null;
  const workspaceId = requestedWorkspace ?? claims.ws;
  const r = await deps.db.query(
    `SELECT u.email, u.disabled, u.installation_admin, m.role FROM users u
       LEFT JOIN workspace_members m ON m.user_id = u.id AND m.workspace_id = $2
      WHERE u.id = $1`,
    [claims.sub, workspaceId],
  );
  const row = r.rows[0];
  if (!row || row.disabled) return null;
  if (!row.role) throw new ApiError('forbidden', `you are not a member of workspace ${workspaceId}`);
  return { userId: claims.sub, email: row.email, role: row.role, installationAdmin: row.installation_admin === true, workspaceId, jti: claims.jti, exp: claims.exp, familyId: claims.fam ?? null };
}

const workspaceHeader = (req: IncomingMessage): string | undefined => {
  const v = req.headers[WORKSPACE_HEADER];
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[A-Za-z0-9._-]{1,100}$/.test(s) ? s : undefined;
};

/** Registers the JWT strategy; returns the middleware that authenticates a request or answers 401. */
export function createAuthenticator(deps: Deps): RequestHandler {
  const opts: StrategyOptionsWithRequest = {
    jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
    secretOrKey: deps.env.JWT_SECRET_KEY,
    algorithms: ['HS256'],
    issuer: ISSUER,
    audience: AUDIENCE,
    passReqToCallback: true,
  };
  const strategy = new JwtStrategy(opts, (req: Request, claims: AccessClaims, done: (err: unknown, user?: Principal | false, info?: unknown) => void) => {
    principalOf(deps, claims, workspaceHeader(req)).then(
      (p) => done(null, p ?? false, p ? undefined : { message: 'the token was revoked or its account is disabled' }),
      (err) => done(err),
    );
  });
  const name = `jwt-${randomUUID()}`; // one strategy per app instance, each with its own deps
  passport.use(name, strategy);
  return (req, res, next) => {
    passport.authenticate(name, { session: false }, (err: unknown, user: Principal | false, info: { message?: string; name?: string } | undefined) => {
      if (err) return next(err);
      if (!user) {
        const why = info?.name === 'TokenExpiredError' ? 'the access token has expired' : info?.message === 'No auth token' ? 'authentication required: send Authorization: Bearer <access token>' : `invalid access token${info?.message ? `: ${info.message}` : ''}`;
        return next(new ApiError('unauthorized', why, undefined, { 'WWW-Authenticate': 'Bearer realm="neuronode"' }));
      }
      req.user = user;
      next();
    })(req, res, next);
  };
}

/** Authenticates a WebSocket upgrade: `Authorization: Bearer …`, or `?access_token=…` for browsers. */
export async function authenticateUpgrade(deps: Deps, req: IncomingMessage): Promise<Principal | null> {
  const header = req.headers.authorization;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('access_token');
  if (!token) return null;
  try {
    const claims = jwt.verify(token, deps.env.JWT_SECRET_KEY, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE }) as AccessClaims;
    return await principalOf(deps, claims, workspaceHeader(req) ?? url.searchParams.get('workspace_id') ?? undefined);
  } catch (err) {
    // A forged, expired or malformed token, or a workspace the user is not a member of: no principal.
    // A store that cannot be read is not a bad token: that propagates.
    if (err instanceof jwt.JsonWebTokenError || err instanceof ApiError) return null;
    throw err;
  }
}

/** Creates the first administrator from the environment when no user exists yet. */
export async function ensureFirstAdmin(deps: Deps): Promise<void> {
  const { NEURONODE_ADMIN_EMAIL: email, NEURONODE_ADMIN_PASSWORD: password } = deps.env;
  const any = await deps.db.query(`SELECT 1 FROM users LIMIT 1`);
  if (any.rowCount) return;
  if (!email || !password) {
    console.warn('neuronode: no user exists yet; set NEURONODE_ADMIN_EMAIL and NEURONODE_ADMIN_PASSWORD to create the first administrator');
    return;
  }
  const id = randomUUID();
  const hash = await hashPassword(password);
  await transaction(deps.db, async (client) => {
    // Two processes starting together: the advisory lock lets exactly one create the administrator.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('neuronode:first-admin'))`);
    if ((await client.query(`SELECT 1 FROM users LIMIT 1`)).rowCount === 0) {
      await client.query(`INSERT INTO users (id, email, password_hash, role, installation_admin) VALUES ($1, lower($2), $3, 'admin', true)`, [id, email, hash]);
      await client.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ('default', $1, 'admin')`, [id]);
      await client.query(
        `INSERT INTO audit_log (workspace_id, actor_id, actor_email, role, action, resource, outcome, details) VALUES ('default', $1, lower($2), 'admin', 'user.bootstrap_admin', $3, 'success', '{}')`,
        [id, email, `user:${id}`],
      );
      console.log(`neuronode: created the first administrator ${email.toLowerCase()}`);
    }
  });
}

// A fixed hash to verify against when the account does not exist, so timing does not tell.
let dummyHash: Promise<string> | undefined;

async function issueTokens(deps: Deps, userId: string, workspaceId: string, familyId: string) {
  const refresh = `rt_${randomBytes(32).toString('base64url')}`;
  await deps.db.query(
    `INSERT INTO refresh_tokens (id, family_id, user_id, workspace_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6))`,
    [randomUUID(), familyId, userId, workspaceId, sha256(refresh), deps.env.REFRESH_TOKEN_DAYS],
  );
  const access = signAccessToken(deps.env, userId, workspaceId, familyId);
  return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refresh, refresh_expires_in: deps.env.REFRESH_TOKEN_DAYS * 86_400, workspace_id: workspaceId };
}

export function authRouter(deps: Deps, limits: RateLimits): Router {
  const router = Router();

  router.post('/login', async (req, res) => {
    const body = parse(LoginRequest, req.body);
    const ip = req.ip ?? 'unknown';
    const ctx = auditContext(req, res);
    try {
      await limits.login.check(body.email, ip);
    } catch (err) {
      await writeAudit(deps, { ...ctx, action: 'auth.login', outcome: 'denied', actorEmail: body.email.toLowerCase(), status: 429, details: { reason: 'blocked after repeated failures' } });
      throw err;
    }
    const user = (await deps.db.query(`SELECT id, email, password_hash, disabled FROM users WHERE email = lower($1)`, [body.email])).rows[0];
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    const ok = await verifyPassword(user?.password_hash ?? (await dummyHash), body.password);
    if (!user || !ok || user.disabled) {
      await limits.login.failed(body.email, ip);
      await writeAudit(deps, { ...ctx, action: 'auth.login', outcome: 'failure', actorId: user?.id ?? null, actorEmail: body.email.toLowerCase(), status: 401, details: { reason: !user ? 'unknown account' : !ok ? 'wrong password' : 'account disabled' } });
      throw new ApiError('unauthorized', 'wrong e-mail or password, or the account is disabled');
    }
    await limits.login.succeeded(body.email, ip);
    const memberships = (await deps.db.query(`SELECT workspace_id, role FROM workspace_members WHERE user_id = $1 ORDER BY (workspace_id = 'default') DESC, workspace_id`, [user.id])).rows;
    const m = body.workspace_id ? memberships.find((x) => x.workspace_id === body.workspace_id) : memberships[0];
    if (!m) {
      await writeAudit(deps, { ...ctx, action: 'auth.login', outcome: 'denied', actorId: user.id, actorEmail: user.email, status: 403, details: { workspace_id: body.workspace_id ?? null } });
      throw new ApiError('forbidden', body.workspace_id ? `you are not a member of workspace ${body.workspace_id}` : 'your account belongs to no workspace');
    }
    const tokens = await issueTokens(deps, user.id, m.workspace_id, randomUUID());
    await writeAudit(deps, { ...ctx, workspaceId: m.workspace_id, actorId: user.id, actorEmail: user.email, role: m.role, action: 'auth.login', outcome: 'success', status: 200 });
    if (body.session === 'cookie') {
      const { refresh_token, ...rest } = tokens;
      setSessionCookie(req, res, refresh_token, tokens.refresh_expires_in);
      res.json({ ...rest, user: { id: user.id, email: user.email, role: m.role } });
      return;
    }
    res.json({ ...tokens, user: { id: user.id, email: user.email, role: m.role } });
  });

  router.post('/refresh', async (req, res) => {
    const body = parse(RefreshRequest, req.body ?? {});
    const fromCookie = body.refresh_token === undefined;
    const presented = body.refresh_token ?? cookieToken(req);
    if (!presented) throw new ApiError('unauthorized', 'no refresh token: send refresh_token, or the session cookie with its header');
    const hash = sha256(presented);
    const ctx = auditContext(req, res);
    const rotated = (
      await deps.db.query(
        `UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
         RETURNING family_id, user_id, workspace_id`,
        [hash],
      )
    ).rows[0];
    if (!rotated) {
      const known = (await deps.db.query(`SELECT family_id, user_id, workspace_id, used_at, revoked_at, expires_at FROM refresh_tokens WHERE token_hash = $1`, [hash])).rows[0];
      if (known && (known.used_at || known.revoked_at)) {
        // A rotated or revoked token came back: whoever holds the family may be an attacker.
        const r = await deps.db.query(`UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE family_id = $1`, [known.family_id]);
        await writeAudit(deps, { ...ctx, workspaceId: known.workspace_id, actorId: known.user_id, action: 'auth.refresh_reuse', outcome: 'denied', status: 401, details: { family_id: known.family_id, revoked: r.rowCount } });
        throw new ApiError('unauthorized', 'this refresh token was already used; every session of its login has been revoked');
      }
      await writeAudit(deps, { ...ctx, action: 'auth.refresh', outcome: 'failure', status: 401, actorId: known?.user_id ?? null, details: { reason: known ? 'expired' : 'unknown token' } });
      throw new ApiError('unauthorized', known ? 'the refresh token has expired' : 'invalid refresh token');
    }
    const user = (await deps.db.query(`SELECT u.email, u.disabled, m.role FROM users u LEFT JOIN workspace_members m ON m.user_id = u.id AND m.workspace_id = $2 WHERE u.id = $1`, [rotated.user_id, rotated.workspace_id])).rows[0];
    if (!user || user.disabled || !user.role) {
      await deps.db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1`, [rotated.family_id]);
      await writeAudit(deps, { ...ctx, workspaceId: rotated.workspace_id, actorId: rotated.user_id, action: 'auth.refresh', outcome: 'denied', status: 401, details: { reason: 'account disabled or no longer a member' } });
      throw new ApiError('unauthorized', 'the account is disabled or no longer a member of the workspace');
    }
    const tokens = await issueTokens(deps, rotated.user_id, rotated.workspace_id, rotated.family_id);
    await writeAudit(deps, { ...ctx, workspaceId: rotated.workspace_id, actorId: rotated.user_id, actorEmail: user.email, role: user.role, action: 'auth.refresh', outcome: 'success', status: 200 });
    if (fromCookie) {
      const { refresh_token, ...rest } = tokens;
      setSessionCookie(req, res, refresh_token, tokens.refresh_expires_in);
      res.json(rest);
      return;
    }
    res.json(tokens);
  });

  router.post('/logout', async (req, res) => {
    const body = parse(LogoutRequest, req.body ?? {});
    const p = req.user!;
    const presented = body.refresh_token ?? cookieToken(req);
    // The session the access token came from ends, and the one of a refresh token given in the body.
    const r = await deps.db.query(
      `UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now())
        WHERE user_id = $3 AND (family_id = $1::uuid OR family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $2 AND user_id = $3))
        RETURNING family_id`,
      [p.familyId, presented ? sha256(presented) : null, p.userId],
    );
    if (req.headers.cookie && parseCookie(req.headers.cookie)[SESSION_COOKIE]) clearSessionCookie(req, res);
    const families = new Set(r.rows.map((x) => x.family_id as string)).size;
    // The access token stops working now, not at its expiry.
    const ttl = Math.max(1, p.exp - Math.floor(Date.now() / 1000));
    await deps.redis.set(revokedKey(p.jti), '1', 'EX', ttl);
    res.json({ logged_out: true, refresh_families_revoked: families });
  });

  router.get('/me', async (req, res) => {
    const p = req.user!;
    const workspaces = (await deps.db.query(`SELECT m.workspace_id AS id, w.name, m.role FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.id`, [p.userId])).rows;
    res.json({ id: p.userId, email: p.email, role: p.role, installation_admin: p.installationAdmin, workspace_id: p.workspaceId, permissions: [...permissionsOf(p.role), ...(p.installationAdmin ? ['installation'] : [])].sort(), workspaces });
  });

  return router;
}

