import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import jwt from 'jsonwebtoken';
import { ROUTES, type RouteSpec } from '../../src/api/routes';
import { roleHas, type Role } from '../../src/api/rbac';
import { upload, waitForDocument } from '../helpers/documents';
import { adminCredentials, api, login, startSystem, type System } from '../helpers/system';
import { ROOT } from '../helpers/stack';
import { spawnTracked, stopChild } from '../helpers/teardown';

/**
 * Security against the real stack: the whole route table × every role, forged tokens, refresh
 * rotation and reuse, login backoff, rate limits shared by two API processes, the append-only audit
 * log, private documents, workspace isolation and the HTTP edges.
 */
jest.setTimeout(900_000);

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const PASSWORD = `pw-${RUN}-Correct-Horse`;
const ROLES_UNDER_TEST: Role[] = ['admin', 'power_user', 'user'];
const key = (r: Pick<RouteSpec, 'method' | 'path'>) => `${r.method.toUpperCase()} ${r.path}`;

let sys: System;
const token = {} as Record<Role, string>;
const userId = {} as Record<Role, string>;
const ids: Record<string, string> = {};

async function createUser(role: Role, name: string): Promise<{ id: string; email: string; token: string }> {
  const email = `${name}-${RUN}@example.com`;
  const r = await api(sys.url, '/api/admin/users', { method: 'POST', json: { email, password: PASSWORD, role } });
  if (r.status !== 201) throw new Error(`creating ${email} answered ${r.status}: ${r.text}`);
  const t = (await login(sys.url, { email, password: PASSWORD })).access_token as string;
  return { id: r.json.id, email, token: t };
}

const textFile = (name: string, text: string) => [{ name, bytes: Buffer.from(text), type: 'text/plain' }];

async function uploadAs(role: Role, name: string, text: string, visibility: 'private' | 'organisation' = 'organisation'): Promise<string> {
  const r = await upload(sys.url, textFile(name, text), 'nlp', { token: token[role], visibility });
  if (r.status !== 202) throw new Error(`upload answered ${r.status}: ${r.text}`);
  return r.json.documents[0].document_id;
}

beforeAll(async () => {
  sys = await startSystem({ CORS_ORIGINS: ['https://app.example.com'] });
  token.admin = sys.token;
  userId.admin = (await api(sys.url, '/api/auth/me')).json.id;
  for (const role of ['power_user', 'user'] as const) {
    const u = await createUser(role, role.replace('_', '-'));
    token[role] = u.token;
    userId[role] = u.id;
  }
  // Fixtures the route walk needs: documents each writer owns, queries, batches, an entity.
  ids.sharedDoc = await uploadAs('admin', `shared-${RUN}.txt`, `Shared notes ${RUN}. Ilse Brandt leads the Nordhafen ferry project.`);
  for (const role of ['admin', 'power_user'] as const) {
    ids[`reprocess_${role}`] = await uploadAs(role, `re-${role}-${RUN}.txt`, `Reprocess fixture ${role} ${RUN}.`);
    ids[`delete_${role}`] = await uploadAs(role, `del-${role}-${RUN}.txt`, `Delete fixture ${role} ${RUN}.`);
  }
  for (const d of [ids.sharedDoc!, ids.reprocess_admin!, ids.delete_admin!]) await waitForDocument(sys.url, d);
  ids.sharedChunk = (await sys.deps.db.query(`SELECT id FROM chunks WHERE document_id = $1 ORDER BY position LIMIT 1`, [ids.sharedDoc])).rows[0].id;
  for (const d of [ids.reprocess_power_user!, ids.delete_power_user!]) await waitForDocument(sys.url, d, 240_000, token.power_user);
  for (const role of ROLES_UNDER_TEST) {
    const q = await api(sys.url, '/api/query', { method: 'POST', json: { question: `Qwxzy vorbnak ${RUN} plimf?` }, token: token[role] });
    if (q.status !== 200) throw new Error(`query as ${role}: ${q.status} ${q.text}`);
    ids[`query_${role}`] = q.json.query_id;
  }
  for (const role of ['admin', 'power_user'] as const) {
    const b = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions: ['Who leads the Nordhafen ferry project?'], generate: false }, token: token[role] });
    ids[`batch_${role}`] = b.json.batch_id;
  }
  const batchUp = await upload(sys.url, textFile(`batch-${RUN}.txt`, `Batch fixture ${RUN}.`), 'nlp', { path: '/api/documents/batch' });
  ids.docBatch = batchUp.json.batch_id;
  const tiny = { candidates: ['local-smollm2-135m'], tasks: ['classification'], limit: 1, require_approval: true };
  ids.optimization = (await api(sys.url, '/api/admin/models/optimize', { method: 'POST', json: tiny })).json.run_id;
  const ents = await api(sys.url, '/api/graph/entities?limit=1');
  ids.entity = ents.json.entities[0]?.id ?? 'no-entity';
  ids.target = (await createUser('user', 'target')).id;
});

afterAll(async () => {
  // Optimisation runs the walk started wait for a decision: they end with the test.
  const started = await sys?.deps.db.query(`SELECT id FROM optimization_runs WHERE status NOT IN ('applied', 'rejected', 'failed') AND candidates = '["local-smollm2-135m"]'::jsonb`);
  for (const r of started?.rows ?? []) {
    await sys.deps.temporal!.workflow.getHandle(r.id).terminate('security test cleanup').catch(() => undefined);
    await sys.deps.db.query(`UPDATE optimization_runs SET status = 'failed', note = 'terminated by the test that started it', finished_at = now() WHERE id = $1`, [r.id]);
  }
  await sys?.stop();
});

type Sample = { path: string; init?: Parameters<typeof api>[2]; ok?: number[]; token?: string };
const post = (json: unknown) => ({ method: 'POST', json });

/** One request per route; a route without a sample fails the walk. */
const SAMPLES: Record<string, (role: Role) => Sample | Promise<Sample>> = {
  'GET /api/status': () => ({ path: '/api/status' }),
  'GET /api/metrics': () => ({ path: '/api/metrics' }),
  'POST /api/system/check': () => ({ path: '/api/system/check', init: post({}) }),
  'POST /api/auth/logout': async (role) => {
    // A session of its own, so the walk's tokens stay valid.
    const email = role === 'admin' ? adminCredentials().email : `${role.replace('_', '-')}-${RUN}@example.com`;
    const s = await login(sys.url, { email, password: role === 'admin' ? adminCredentials().password : PASSWORD });
    return { path: '/api/auth/logout', init: post({ refresh_token: s.refresh_token }), token: s.access_token };
  },
  'GET /api/auth/me': () => ({ path: '/api/auth/me' }),
  'POST /api/documents/upload': (role) => ({ path: '/api/documents/upload', init: { method: 'POST', body: form(`walk-${role}-${RUN}.txt`) } }),
  'POST /api/documents/batch': (role) => ({ path: '/api/documents/batch', init: { method: 'POST', body: form(`walk-batch-${role}-${RUN}.txt`) } }),
  'GET /api/documents/batch/{batchId}': () => ({ path: `/api/documents/batch/${ids.docBatch}` }),
  'GET /api/documents': () => ({ path: '/api/documents?limit=5' }),
  'GET /api/documents/{id}': () => ({ path: `/api/documents/${ids.sharedDoc}` }),
  'GET /api/documents/{id}/file': () => ({ path: `/api/documents/${ids.sharedDoc}/file` }),
  'GET /api/chunks/{id}': () => ({ path: `/api/chunks/${ids.sharedChunk}` }),
  'GET /api/documents/{id}/chunks': () => ({ path: `/api/documents/${ids.sharedDoc}/chunks` }),
  'DELETE /api/documents/{id}': (role) => ({ path: `/api/documents/${ids[`delete_${role}`] ?? ids.sharedDoc}`, init: { method: 'DELETE' } }),
  'POST /api/documents/{id}/reprocess': (role) => ({ path: `/api/documents/${ids[`reprocess_${role}`] ?? ids.sharedDoc}/reprocess`, init: post({}) }),
  'POST /api/retrieve': () => ({ path: '/api/retrieve', init: post({ question: 'Who leads the Nordhafen ferry project?', top_k: 3 }) }),
  'POST /api/query': () => ({ path: '/api/query', init: post({ question: `Qwxzy vorbnak ${RUN} plimf?` }) }),
  'GET /api/query/history': () => ({ path: '/api/query/history?limit=5' }),
  'GET /api/query/batches': () => ({ path: '/api/query/batches?limit=5' }),
  'POST /api/query/batch': () => ({ path: '/api/query/batch', init: post({ questions: ['Who leads the Nordhafen ferry project?'], generate: false }), ok: [202] }),
  // A batch belongs to whoever started it; the plain user started none and sees none.
  'GET /api/query/batch/{id}': (role) => ({ path: `/api/query/batch/${ids[`batch_${role}`] ?? ids.batch_admin}`, ok: role === 'user' ? [404] : [200] }),
  'GET /api/query/batch/{id}/results': (role) => ({ path: `/api/query/batch/${ids[`batch_${role}`] ?? ids.batch_admin}/results`, ok: role === 'user' ? [404] : [200] }),
  'POST /api/query/batch/{id}/cancel': (role) => ({ path: `/api/query/batch/${ids[`batch_${role}`] ?? ids.batch_admin}/cancel`, init: post({}), ok: [202, 409] }),
  'GET /api/query/{id}': (role) => ({ path: `/api/query/${ids[`query_${role}`]}` }),
  'GET /api/graph/entities': () => ({ path: '/api/graph/entities?q=Nordhafen' }),
  'GET /api/graph/entities/{id}': () => ({ path: `/api/graph/entities/${ids.entity}`, ok: ids.entity === 'no-entity' ? [404] : [200] }),
  'GET /api/graph/relationships': () => ({ path: '/api/graph/relationships?limit=5' }),
  'GET /api/graph/data': () => ({ path: `/api/graph/data?document_id=${ids.sharedDoc}` }),
  'GET /api/graph/overview': () => ({ path: '/api/graph/overview?limit=50' }),
  'POST /api/graph/query': () => ({ path: '/api/graph/query', init: post({ query: 'MATCH (d:Document) WHERE d.workspace_id = $workspace_id RETURN count(d) AS n' }) }),
  'GET /api/admin/users': () => ({ path: '/api/admin/users' }),
  'POST /api/admin/users': (role) => ({ path: '/api/admin/users', init: post({ email: `walk-${role.replace('_', '-')}-${RUN}@example.com`, password: PASSWORD, role: 'user' }) }),
  'PATCH /api/admin/users/{id}': () => ({ path: `/api/admin/users/${ids.target}`, init: { method: 'PATCH', json: { role: 'power_user' } } }),
  'POST /api/admin/workspaces': (role) => ({ path: '/api/admin/workspaces', init: post({ id: `walk-${role.replace('_', '-')}-${RUN}`, name: 'Walk' }) }),
  'POST /api/admin/members': () => ({ path: '/api/admin/members', init: post({ email: `target-${RUN}@example.com`, role: 'user' }) }),
  'GET /api/admin/audit': () => ({ path: '/api/admin/audit?limit=5' }),
  'GET /api/admin/budget': () => ({ path: '/api/admin/budget' }),
  // The workspace's settings as they are (no threshold, no limit), so the walk changes nothing.
  'PATCH /api/admin/budget': () => ({ path: '/api/admin/budget', init: { method: 'PATCH', json: { approval_above_usd: null, daily_limit_usd: null } } }),
  // The shared document is not waiting for a decision: an administrator is answered 409.
  // No document of the walk's batch needs approval in this workspace; the decision is recorded all the same.
  'POST /api/documents/batch/{batchId}/budget-decision': () => ({ path: `/api/documents/batch/${ids.docBatch}/budget-decision`, init: post({ approve: true }), ok: [202] }),
  'POST /api/documents/{id}/budget-decision': () => ({ path: `/api/documents/${ids.sharedDoc}/budget-decision`, init: post({ approve: true }), ok: [409] }),
  'GET /api/admin/models/health': () => ({ path: '/api/admin/models/health' }),
  'POST /api/admin/models/optimize': () => ({ path: '/api/admin/models/optimize', init: post({ candidates: ['local-smollm2-135m'], tasks: ['classification'], limit: 1, require_approval: true }), ok: [202] }),
  'GET /api/admin/models/optimizations/{id}': () => ({ path: `/api/admin/models/optimizations/${ids.optimization}` }),
  // Rejected, once it waits for a decision; still evaluating: 409.
  'POST /api/admin/models/optimizations/{id}/decision': () => ({ path: `/api/admin/models/optimizations/${ids.optimization}/decision`, init: post({ approve: false }), ok: [202, 409] }),
  'GET /api/admin/models/assignments': () => ({ path: '/api/admin/models/assignments' }),
  'GET /api/admin/models/served': () => ({ path: '/api/admin/models/served' }),
  'GET /api/admin/models/optimizations': () => ({ path: '/api/admin/models/optimizations?limit=5' }),
  // Assigning a slot its own configured model: a real change of the table that reroutes nothing.
  'POST /api/admin/models/assign': () => ({ path: '/api/admin/models/assign', init: post({ task: 'classification', profile: 'premium', model: null }) }),
  'GET /api/admin/models/performance': () => ({ path: '/api/admin/models/performance?hours=24' }),
};

function form(name: string): FormData {
  const f = new FormData();
  f.append('files', new Blob([Buffer.from(`Walk upload ${name}.`)], { type: 'text/plain' }), name);
  f.append('profile', 'nlp');
  return f;
}

describe('access control over the whole route table', () => {
  it('has a sample request for every protected route', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(ROUTES.filter((r) => r.permission !== 'public').map(key).sort());
  });

  it('answers every role × route with the expected 2xx or 403, and 401 without a token; every body matches the OpenAPI document', async () => {
    const table: string[] = [];
    const wrong: string[] = [];
    // Real responses are checked against the OpenAPI document the API serves.
    const doc = (await api(sys.url, '/openapi.json', { token: null })).json;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc.components.schemas.Error, '#/components/schemas/Error');
    const conforms = (spec: RouteSpec, status: number, r: Awaited<ReturnType<typeof api>>) => {
      const responses = doc.paths[spec.path][spec.method].responses;
      const declared = responses[String(status)];
      if (!declared) return `status ${status} is not in the OpenAPI document`;
      const resolved = declared.$ref ? doc.components.responses.Error : declared;
      const json = resolved.content?.['application/json'];
      if (!json || r.json === undefined) return (r.headers.get('content-type') ?? '').includes('json') ? 'JSON not declared' : null;
      const schema = json.schema.$ref ? doc.components.schemas.Error : json.schema;
      const validate = ajv.compile(schema);
      return validate(r.json) ? null : `body does not match: ${ajv.errorsText(validate.errors)}`;
    };
    let checked = 0;
    for (const spec of ROUTES.filter((r) => r.permission !== 'public')) {
      const none = await SAMPLES[key(spec)]!('user');
      const anon = await api(sys.url, none.path, { ...none.init, token: null });
      if (anon.status !== 401) wrong.push(`${key(spec)} without a token → ${anon.status}`);
      for (const role of ROLES_UNDER_TEST) {
        const s = await SAMPLES[key(spec)]!(role);
        const perm = spec.permission;
        // The walk's administrator is the first one, an installation administrator; the others are not.
        const allowed = perm === 'authenticated' || (perm === 'installation' ? role === 'admin' : perm !== 'public' && roleHas(role, perm));
        const r = await api(sys.url, s.path, { ...s.init, token: s.token ?? token[role] });
        const expected = allowed ? (s.ok ?? [spec.success ?? 200]) : [403];
        table.push(`${key(spec).padEnd(42)} ${role.padEnd(10)} ${r.status}`);
        if (!expected.includes(r.status)) wrong.push(`${key(spec)} as ${role} → ${r.status} (expected ${expected.join('/')}): ${r.text.slice(0, 200)}`);
        const mismatch = conforms(spec, r.status, r);
        if (mismatch) wrong.push(`${key(spec)} as ${role} → ${r.status}: ${mismatch}`);
        checked++;
        if (!allowed && r.json?.error?.details?.required !== spec.permission) wrong.push(`${key(spec)} as ${role}: the 403 does not name ${spec.permission}`);
      }
    }
    console.log(`route table walk:\n${table.join('\n')}`);
    expect(wrong).toEqual([]);
    expect(checked).toBe(ROUTES.filter((r) => r.permission !== 'public').length * ROLES_UNDER_TEST.length);
  });

  it('keeps health, login, refresh and the API docs public', async () => {
    expect((await api(sys.url, '/api/health', { token: null })).status).toBe(200);
    expect((await api(sys.url, '/openapi.json', { token: null })).status).toBe(200);
    const docs = await api(sys.url, '/docs/', { token: null });
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger-ui/i);
  });
});

describe('tokens', () => {
  const secret = () => sys.deps.env.JWT_SECRET_KEY;
  const me = (t: string) => api(sys.url, '/api/auth/me', { token: t });

  it('refuses forged tokens: wrong signature, alg none, expired, tampered claims, wrong audience', async () => {
    const claims = { ws: 'default', typ: 'access' };
    const base = { subject: userId.user, issuer: 'neuronode', audience: 'neuronode-api', jwtid: `j-${RUN}` };
    const wrongKey = jwt.sign(claims, `${secret()}-but-not-quite`, { ...base, algorithm: 'HS256', expiresIn: 600 });
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const payload = { ...claims, sub: userId.user, iss: 'neuronode', aud: 'neuronode-api', jti: `j-${RUN}`, iat: now, exp: now + 600 };
    const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
    const expired = jwt.sign({ ...claims, exp: now - 60 }, secret(), { subject: userId.user, issuer: 'neuronode', audience: 'neuronode-api', jwtid: `j-${RUN}`, algorithm: 'HS256' });
    const [h, , sig] = token.user.split('.');
    const tampered = `${h}.${b64({ ...JSON.parse(Buffer.from(token.user.split('.')[1]!, 'base64url').toString()), sub: userId.admin })}.${sig}`;
    const wrongAudience = jwt.sign(claims, secret(), { ...base, audience: 'someone-else', algorithm: 'HS256', expiresIn: 600 });
    for (const [name, t] of Object.entries({ wrongKey, algNone, expired, tampered, wrongAudience, garbage: 'not.a.token' })) {
      const r = await me(t);
      expect({ name, status: r.status, code: r.json?.error?.code }).toEqual({ name, status: 401, code: 'unauthorized' });
    }
    expect((await me(expired)).json.error.message).toMatch(/expired/);
    // The genuine token still works.
    expect((await me(token.user)).json.id).toBe(userId.user);
  });

  it('rotates refresh tokens; reusing a rotated one revokes the whole family', async () => {
    const first = await login(sys.url, { email: `user-${RUN}@example.com`, password: PASSWORD });
    const second = await api(sys.url, '/api/auth/refresh', { method: 'POST', json: { refresh_token: first.refresh_token }, token: null });
    expect(second.status).toBe(200);
    expect(second.json.refresh_token).not.toBe(first.refresh_token);
    expect((await me(second.json.access_token)).status).toBe(200);
    // The first token again: a thief or a replay. The family (including the second token) dies.
    const reuse = await api(sys.url, '/api/auth/refresh', { method: 'POST', json: { refresh_token: first.refresh_token }, token: null });
    expect(reuse.status).toBe(401);
    expect(reuse.json.error.message).toMatch(/already used/);
    const after = await api(sys.url, '/api/auth/refresh', { method: 'POST', json: { refresh_token: second.json.refresh_token }, token: null });
    expect(after.status).toBe(401);
    const rows = await sys.deps.db.query(`SELECT outcome FROM audit_log WHERE action = 'auth.refresh_reuse' AND actor_id = $1`, [userId.user]);
    expect(rows.rows.map((r) => r.outcome)).toContain('denied');
    // A stored refresh token is a hash, never the token.
    const stored = await sys.deps.db.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE token_hash = $1`, [first.refresh_token]);
    expect(stored.rows[0].n).toBe(0);
  });

  it('serves a private document\'s original file and chunks to its owner only, as a download that is never sniffed', async () => {
    const text = `Private memo ${RUN}. The Tidewater vault code is kept by Oskar Lind.\n`;
    const id = await uploadAs('power_user', `memo-${RUN}.txt`, text, 'private');
    await waitForDocument(sys.url, id, 240_000, token.power_user);
    const own = await api(sys.url, `/api/documents/${id}/file`, { token: token.power_user });
    expect(own.status).toBe(200);
    expect(own.text).toBe(text);
    expect(own.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="?memo-${RUN}\\.txt"?$`));
    expect(own.headers.get('x-content-type-options')).toBe('nosniff');
    expect(own.headers.get('content-security-policy')).toMatch(/sandbox/);
    const chunk = (await sys.deps.db.query(`SELECT id FROM chunks WHERE document_id = $1 ORDER BY position LIMIT 1`, [id])).rows[0].id as string;
    const c = await api(sys.url, `/api/chunks/${chunk}`, { token: token.power_user });
    expect(c.status).toBe(200);
    expect(c.json).toMatchObject({ chunk_id: chunk, document_id: id, position: 0, before: [] });
    expect(c.json.text).toContain('Oskar Lind');
    // Another member of the workspace, even its administrator, learns nothing of it.
    const listed = await api(sys.url, `/api/documents/${id}/chunks`, { token: token.power_user });
    expect(listed.status).toBe(200);
    expect(listed.json.chunks[0]).toMatchObject({ chunk_id: chunk, position: 0 });
    for (const who of ['user', 'admin'] as const) {
      expect((await api(sys.url, `/api/documents/${id}/chunks`, { token: token[who] })).status).toBe(404);
      expect((await api(sys.url, `/api/documents/${id}/file`, { token: token[who] })).status).toBe(404);
      expect((await api(sys.url, `/api/chunks/${chunk}`, { token: token[who] })).status).toBe(404);
    }
    expect((await api(sys.url, '/api/chunks/not-a-chunk', { token: token.power_user })).status).toBe(400);
  });

  it('returns a chunk with the chunks around it', async () => {
    const long = Array.from({ length: 80 }, (_, i) => `Paragraph ${i} of the Ostrand harbour chronicle ${RUN} tells of ferries, lanterns and tides in considerable detail, year after year.`).join('\n\n');
    const id = await uploadAs('admin', `chronicle-${RUN}.txt`, long);
    await waitForDocument(sys.url, id);
    const rows = (await sys.deps.db.query(`SELECT id, position FROM chunks WHERE document_id = $1 ORDER BY position`, [id])).rows;
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const middle = rows[1]!;
    const c = await api(sys.url, `/api/chunks/${middle.id}?neighbours=1`);
    expect(c.status).toBe(200);
    // The document's format as ingestion detected it (what the web app decides to draw a PDF by):
    // paragraphs of prose, although each holds two commas, are text.
    expect(c.json.format).toBe('text');
    expect(c.json.before.map((x: { chunk_id: string }) => x.chunk_id)).toEqual([rows[0]!.id]);
    expect(c.json.after.map((x: { chunk_id: string }) => x.chunk_id)).toEqual([rows[2]!.id]);
    const none = await api(sys.url, `/api/chunks/${middle.id}?neighbours=0`);
    expect({ before: none.json.before, after: none.json.after }).toEqual({ before: [], after: [] });
  });

  it('keeps the refresh token of a browser session in an httpOnly cookie that only a request with the session header can spend', async () => {
    const r = await api(sys.url, '/api/auth/login', { method: 'POST', json: { email: `user-${RUN}@example.com`, password: PASSWORD, session: 'cookie' }, token: null });
    expect(r.status).toBe(200);
    expect(r.json.refresh_token).toBeUndefined();
    const setCookie = r.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^neuronode_refresh=rt_[\w-]+;/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/api\/auth/);
    const cookie = setCookie.split(';')[0]!;
    // The cookie alone (as a cross-site form or another port's page would send it) is refused.
    const bare = await api(sys.url, '/api/auth/refresh', { method: 'POST', json: {}, token: null, headers: { cookie } });
    expect(bare.status).toBe(403);
    const rotated = await api(sys.url, '/api/auth/refresh', { method: 'POST', json: {}, token: null, headers: { cookie, 'x-neuronode-session': 'cookie' } });
    expect(rotated.status).toBe(200);
    expect(rotated.json.refresh_token).toBeUndefined();
    expect((await me(rotated.json.access_token)).status).toBe(200);
    const next = (rotated.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(next).toMatch(/^neuronode_refresh=rt_/);
    expect(next).not.toBe(cookie);
    // The rotated cookie is spent: presenting it again revokes the family, the new one with it.
    expect((await api(sys.url, '/api/auth/refresh', { method: 'POST', json: {}, token: null, headers: { cookie, 'x-neuronode-session': 'cookie' } })).status).toBe(401);
    expect((await api(sys.url, '/api/auth/refresh', { method: 'POST', json: {}, token: null, headers: { cookie: next, 'x-neuronode-session': 'cookie' } })).status).toBe(401);
    // Logout with the cookie revokes its family and clears the cookie.
    const again = await api(sys.url, '/api/auth/login', { method: 'POST', json: { email: `user-${RUN}@example.com`, password: PASSWORD, session: 'cookie' }, token: null });
    const c2 = (again.headers.get('set-cookie') ?? '').split(';')[0]!;
    const out = await api(sys.url, '/api/auth/logout', { method: 'POST', json: {}, token: again.json.access_token, headers: { cookie: c2, 'x-neuronode-session': 'cookie' } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^neuronode_refresh=;.*Expires=Thu, 01 Jan 1970/);
    expect((await api(sys.url, '/api/auth/refresh', { method: 'POST', json: {}, token: null, headers: { cookie: c2, 'x-neuronode-session': 'cookie' } })).status).toBe(401);
    // Neither a token nor a cookie: a clear 401.
    const none = await api(sys.url, '/api/auth/refresh', { method: 'POST', json: {}, token: null });
    expect(none.status).toBe(401);
    expect(none.json.error.message).toMatch(/no refresh token/);
  });

  it('ends a session at logout and a disabled account at once', async () => {
    const u = await createUser('user', 'leaver');
    const s = await login(sys.url, { email: u.email, password: PASSWORD });
    expect((await me(s.access_token)).status).toBe(200);
    expect((await api(sys.url, '/api/auth/logout', { method: 'POST', json: { refresh_token: s.refresh_token }, token: s.access_token })).status).toBe(200);
    expect((await me(s.access_token)).status).toBe(401);
    expect((await api(sys.url, '/api/auth/refresh', { method: 'POST', json: { refresh_token: s.refresh_token }, token: null })).status).toBe(401);
    // Disabled by an administrator: the existing token stops working, login is refused.
    expect((await me(u.token)).status).toBe(200);
    expect((await api(sys.url, `/api/admin/users/${u.id}`, { method: 'PATCH', json: { disabled: true } })).status).toBe(200);
    expect((await me(u.token)).status).toBe(401);
    expect((await api(sys.url, '/api/auth/login', { method: 'POST', json: { email: u.email, password: PASSWORD }, token: null })).status).toBe(401);
    // An administrator cannot lock themselves out.
    expect((await api(sys.url, `/api/admin/users/${userId.admin}`, { method: 'PATCH', json: { disabled: true } })).status).toBe(409);
  });

  it('blocks an account after repeated failed logins, with Retry-After', async () => {
    const u = await createUser('user', 'guessed');
    const statuses: number[] = [];
    let blocked: Awaited<ReturnType<typeof api>> | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await api(sys.url, '/api/auth/login', { method: 'POST', json: { email: u.email, password: `wrong-${i}-password` }, token: null });
      statuses.push(r.status);
      if (r.status === 429) blocked ??= r;
    }
    const max = sys.deps.env.LOGIN_MAX_FAILURES;
    expect(statuses.slice(0, max)).toEqual(Array(max).fill(401));
    expect(statuses.slice(max)).toEqual(Array(8 - max).fill(429));
    expect(Number(blocked!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even the right password is refused while the block lasts.
    expect((await api(sys.url, '/api/auth/login', { method: 'POST', json: { email: u.email, password: PASSWORD }, token: null })).status).toBe(429);
    const failures = await sys.deps.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.login' AND outcome = 'failure' AND actor_email = $1`, [u.email]);
    expect(failures.rows[0].n).toBe(max);
  });
});

describe('rate limits shared by two API processes', () => {
  const procs: ChildProcess[] = [];
  afterAll(() => Promise.all(procs.map((p) => stopChild(p))));

  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });

  const startApi = (port: number, limit: number) =>
    new Promise<void>((resolve, reject) => {
      const child = spawnTracked(`an API process on port ${port}`, process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'api', 'server.ts')], {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), RATE_LIMIT_USER_PER_MIN: String(limit) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(child);
      let out = '';
      const timer = setTimeout(() => reject(new Error(`API on ${port} did not start: ${out}`)), 120_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('neuronode API:')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`API exited with ${code}: ${out}`)));
    });

  it('counts one user across both processes and answers 429 with Retry-After beyond the quota', async () => {
    const limit = 12;
    const [a, b] = [await freePort(), await freePort()];
    await Promise.all([startApi(a, limit), startApi(b, limit)]);
    const u = await createUser('user', 'burst');
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => api(`http://127.0.0.1:${i % 2 ? a : b}`, '/api/auth/me', { token: u.token })),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(limit);
    expect(limited).toHaveLength(30 - limit);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(r.headers.get('ratelimit-remaining')).toBe('0');
      expect(r.json.error.code).toBe('rate_limited');
    }
    expect(ok[0]!.headers.get('ratelimit-limit')).toBe(String(limit));
  });
});

describe('audit log', () => {
  it('records logins, admin actions, Cypher queries and refused requests', async () => {
    const q = `MATCH (e:Entity) WHERE e.workspace_id = $workspace_id RETURN count(e) AS audited_${RUN}`;
    expect((await api(sys.url, '/api/graph/query', { method: 'POST', json: { query: q } })).status).toBe(200);
    const denied = await upload(sys.url, textFile(`denied-${RUN}.txt`, 'x'), 'nlp', { token: token.user });
    expect(denied.status).toBe(403);
    await new Promise((r) => setTimeout(r, 500)); // rows are written when each response has finished
    const rows = (await sys.deps.db.query(`SELECT * FROM audit_log WHERE at > now() - interval '1 hour' ORDER BY id`)).rows;
    const find = (pred: (r: (typeof rows)[number]) => boolean) => rows.find(pred);
    expect(find((r) => r.action === 'auth.login' && r.outcome === 'success' && r.actor_id === userId.user)).toBeDefined();
    expect(find((r) => r.action === 'POST /api/admin/users' && r.outcome === 'success' && r.details?.email === `user-${RUN}@example.com`)).toMatchObject({ actor_id: userId.admin, role: 'admin', status: 201 });
    const cypher = find((r) => r.action === 'POST /api/graph/query' && r.details?.query === q);
    expect(cypher).toMatchObject({ actor_id: userId.admin, outcome: 'success', ip: expect.any(String), request_id: expect.any(String) });
    expect(find((r) => r.action === 'POST /api/documents/upload' && r.actor_id === userId.user && r.outcome === 'denied')).toMatchObject({ status: 403 });
    const listed = await api(sys.url, `/api/admin/audit?action=${encodeURIComponent('POST /api/graph/query')}&limit=50`);
    expect(listed.json.entries.some((e: { details?: { query?: string } }) => e.details?.query === q)).toBe(true);
  });

  it("is append-only for the application's own connection: it may insert and read, not update, delete, truncate, alter or disarm it", async () => {
    const db = sys.deps.db;
    const me = await db.query(`SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su, (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'audit_log'::regclass) AS owner`);
    expect(me.rows[0]).toEqual({ u: 'neuronode_app', su: false, owner: 'neuronode_owner' });
    const row = await db.query(`INSERT INTO audit_log (workspace_id, action, resource, outcome, details) VALUES ('default', 'test.append', $1, 'success', '{}') RETURNING id`, [`audit-${RUN}`]);
    const id = row.rows[0].id as number;
    expect((await db.query(`SELECT resource FROM audit_log WHERE id = $1`, [id])).rows).toEqual([{ resource: `audit-${RUN}` }]);
    for (const statement of [
      `UPDATE audit_log SET outcome = 'failure' WHERE id = ${id}`,
      `DELETE FROM audit_log WHERE id = ${id}`,
      `TRUNCATE audit_log`,
      `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`,
      `ALTER TABLE audit_log DISABLE TRIGGER ALL`,
      `DROP TRIGGER audit_log_no_update_delete ON audit_log`,
      `ALTER TABLE audit_log ADD COLUMN forged text`,
      `ALTER TABLE audit_log OWNER TO neuronode_app`,
      `DROP TABLE audit_log`,
      `CREATE TABLE audit_log_copy AS SELECT * FROM audit_log`,
      `ALTER FUNCTION audit_log_append_only() OWNER TO neuronode_app`,
    ]) {
      await expect(db.query(statement)).rejects.toThrow(/permission denied|must be owner/);
    }
    expect((await db.query(`SELECT outcome FROM audit_log WHERE id = $1`, [id])).rows).toEqual([{ outcome: 'success' }]);
    const triggers = await db.query(`SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal ORDER BY tgname`);
    expect(triggers.rows).toEqual([{ tgname: 'audit_log_no_truncate', tgenabled: 'O' }, { tgname: 'audit_log_no_update_delete', tgenabled: 'O' }]);
  });
});

describe('document-level access and workspaces', () => {
  it("never shows one user's private document to another: lists, graph views, retrieval or answers", async () => {
    const text = `Zorbelt Quintavian founded the Marisol Glassworks in Ulvenhaven in 1911. Run ${RUN}. Zorbelt Quintavian later sold the Marisol Glassworks to Ulvenhaven.`;
    const id = await uploadAs('power_user', `private-${RUN}.txt`, text, 'private');
    const doc = await waitForDocument(sys.url, id, 240_000, token.power_user);
    expect(doc).toMatchObject({ status: 'completed', visibility: 'private', owner_id: userId.power_user });
    const question = 'Who founded the Marisol Glassworks in Ulvenhaven?';
    // The owner sees it everywhere (the positive control).
    const ownList = await api(sys.url, `/api/documents?q=private-${RUN}`, { token: token.power_user });
    expect(ownList.json.documents.map((d: { id: string }) => d.id)).toContain(id);
    const ownHits = await api(sys.url, '/api/retrieve', { method: 'POST', json: { question, top_k: 5 }, token: token.power_user });
    expect(ownHits.json.chunks.map((c: { document_id: string }) => c.document_id)).toContain(id);
    const ownGraph = await api(sys.url, `/api/graph/data?document_id=${id}`, { token: token.power_user });
    expect(ownGraph.status).toBe(200);
    expect(ownGraph.json.nodes.length).toBeGreaterThan(0);
    const names: string[] = ownGraph.json.nodes.map((n: { name: string }) => n.name);
    const only = names.find((n) => /Zorbelt|Marisol|Ulvenhaven/i.test(n));
    expect(only).toBeDefined();

    // Everyone else — another user, and even an administrator — sees nothing of it.
    for (const role of ['user', 'admin'] as const) {
      const t = token[role];
      const list = await api(sys.url, `/api/documents?q=private-${RUN}`, { token: t });
      expect(list.json.documents).toEqual([]);
      expect((await api(sys.url, `/api/documents/${id}`, { token: t })).status).toBe(404);
      // The plain user may not delete at all (403); the administrator cannot see the document (404).
      expect((await api(sys.url, `/api/documents/${id}`, { method: 'DELETE', token: t })).status).toBe(role === 'user' ? 403 : 404);
      expect((await api(sys.url, `/api/graph/data?document_id=${id}`, { token: t })).status).toBe(404);
      const ents = await api(sys.url, `/api/graph/entities?q=${encodeURIComponent(only!)}`, { token: t });
      expect(ents.json.entities.map((e: { name: string }) => e.name)).not.toContain(only);
      const hits = await api(sys.url, '/api/retrieve', { method: 'POST', json: { question, top_k: 10 }, token: t });
      expect(hits.json.chunks.map((c: { document_id: string }) => c.document_id)).not.toContain(id);
      const answer = await api(sys.url, '/api/query', { method: 'POST', json: { question }, token: t });
      expect(answer.status).toBe(200);
      expect(answer.json.citations.map((c: { document_id: string }) => c.document_id)).not.toContain(id);
      expect(JSON.stringify(answer.json)).not.toContain('Zorbelt');
    }
  });

  it('keeps workspaces apart in every store and refuses non-members', async () => {
    const ws = `iso-${RUN}`;
    expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id: ws, name: 'Isolation' } })).status).toBe(201);
    const inWs = (await login(sys.url, { ...adminCredentials(), workspace_id: ws })).access_token as string;
    const up = await upload(sys.url, textFile(`iso-${RUN}.txt`, `Oskarine Feldmoor runs the Trelawny Observatory. ${RUN}`), 'nlp', { token: inWs });
    const id = up.json.documents[0].document_id as string;
    await waitForDocument(sys.url, id, 240_000, inWs);
    const question = 'Who runs the Trelawny Observatory?';
    const inside = await api(sys.url, '/api/retrieve', { method: 'POST', json: { question, top_k: 5 }, token: inWs });
    expect(inside.json.chunks[0].document_id).toBe(id);
    // The same administrator in the default workspace sees none of it.
    expect((await api(sys.url, `/api/documents/${id}`)).status).toBe(404);
    const outside = await api(sys.url, '/api/retrieve', { method: 'POST', json: { question, top_k: 10 } });
    expect(outside.json.chunks.map((c: { document_id: string }) => c.document_id)).not.toContain(id);
    const ents = await api(sys.url, '/api/graph/entities?q=Feldmoor');
    expect(JSON.stringify(ents.json.entities)).not.toMatch(/Feldmoor/);
    // X-Workspace-Id switches workspace for a member, and is refused for anyone else.
    expect((await api(sys.url, `/api/documents/${id}`, { headers: { 'x-workspace-id': ws } })).status).toBe(200);
    expect((await api(sys.url, `/api/documents`, { headers: { 'x-workspace-id': ws }, token: token.user })).status).toBe(403);
    expect((await api(sys.url, '/api/auth/login', { method: 'POST', json: { email: `user-${RUN}@example.com`, password: PASSWORD, workspace_id: ws }, token: null })).status).toBe(403);
    // Every store carries the workspace: PostgreSQL, Neo4j and Chroma rows of the document.
    const chunkWs = await sys.deps.db.query(`SELECT DISTINCT workspace_id FROM chunks WHERE document_id = $1`, [id]);
    expect(chunkWs.rows).toEqual([{ workspace_id: ws }]);
    const graphWs = await sys.deps.graph.executeQuery(`MATCH (d:Document {id: $id})-[:CONTAINS]->(c:Chunk) RETURN collect(DISTINCT c.workspace_id) AS ws`, { id });
    expect(graphWs.records[0]!.get('ws')).toEqual([ws]);
  });
});

describe('HTTP edges', () => {
  it('applies the CORS allowlist, security headers, request ids, body limits and the one error shape', async () => {
    const allowed = await api(sys.url, '/api/health', { headers: { origin: 'https://app.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const foreign = await api(sys.url, '/api/health', { headers: { origin: 'https://evil.example.net' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(allowed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(allowed.headers.get('content-security-policy')).toBeTruthy();
    expect(allowed.headers.get('x-powered-by')).toBeNull();
    const echoed = await api(sys.url, '/api/auth/me', { headers: { 'x-request-id': `req-${RUN}` } });
    expect(echoed.headers.get('x-request-id')).toBe(`req-${RUN}`);
    expect((await api(sys.url, '/api/auth/me')).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const malformed = await api(sys.url, '/api/retrieve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question": "unterminated' });
    expect(malformed.status).toBe(400);
    expect(malformed.json).toEqual({ error: { code: 'invalid_json', message: expect.any(String) } });
    const huge = await api(sys.url, '/api/retrieve', { method: 'POST', json: { question: 'x'.repeat(2 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('payload_too_large');
    expect((await api(sys.url, '/api/no-such-thing')).json.error.code).toBe('not_found');
    expect((await api(sys.url, '/api/documents', { method: 'PATCH' })).status).toBe(405);
    // Unauthenticated junk is refused before its body is read.
    expect((await api(sys.url, '/api/retrieve', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{', token: null })).status).toBe(401);
  });

  it('lists every route in the OpenAPI document with its permission', async () => {
    const doc = (await api(sys.url, '/openapi.json', { token: null })).json;
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) {
      expect(doc.paths[r.path]?.[r.method]?.['x-permission']).toBe(r.permission);
    }
    expect(doc.paths['/api/query'].post.requestBody.content['application/json'].schema.properties.question).toMatchObject({ type: 'string', maxLength: 2000 });
  });
});
