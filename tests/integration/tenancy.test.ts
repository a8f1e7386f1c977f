import jwt from 'jsonwebtoken';
import { upload, waitForDocument } from '../helpers/documents';
import { adminCredentials, api, login, startSystem, type System } from '../helpers/system';
import { connectWs, until } from '../helpers/ws';

/**
 * Tenancy leaks found in review, each against the real stack: private e-mail attachments, other
 * users' private entities in answers, stored answers shown to administrators, batches and their
 * WebSocket snapshots, duplicate uploads, installation-wide controls, WebSocket sessions after
 * logout/disable/expiry, logout without a refresh token, and failed-login audit rows.
 */
jest.setTimeout(900_000);

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const PASSWORD = `pw-${RUN}-Correct-Horse`;
// The run id sits inside the word, never at its end: see tests/integration/graph.test.ts.
const CANARY = `Zorvan${RUN}tix`;
/** A word only Alice's private document holds (in its title), never in a question. */
const SECRET = `Hushword${RUN}`;
const docs: Record<string, string> = {};
const W3 = `tenancy-${RUN}`;

let sys: System;
const users: Record<string, { id: string; email: string; token: string }> = {};

async function createUser(name: string, role: 'admin' | 'power_user' | 'user', token?: string, workspace?: string) {
  const email = `${name}-${RUN}@example.com`;
  const r = await api(sys.url, '/api/admin/users', { method: 'POST', json: { email, password: PASSWORD, role }, token });
  if (r.status !== 201) throw new Error(`creating ${email}: ${r.status} ${r.text}`);
  const t = (await login(sys.url, { email, password: PASSWORD, ...(workspace ? { workspace_id: workspace } : {}) })).access_token as string;
  users[name] = { id: r.json.id, email, token: t };
  return users[name]!;
}

async function ingest(token: string, name: string, bytes: Buffer, visibility: 'private' | 'organisation', type = 'text/plain') {
  const up = await upload(sys.url, [{ name, bytes, type }], 'nlp', { token, visibility });
  if (up.status !== 202) throw new Error(`upload of ${name}: ${up.status} ${up.text}`);
  const d = up.json.documents[0];
  const done = await waitForDocument(sys.url, d.document_id, 240_000, token);
  if (done.status !== 'completed') throw new Error(`${name}: ${done.status} ${JSON.stringify(done.error)}`);
  return d as { document_id: string; duplicate: boolean };
}

beforeAll(async () => {
  sys = await startSystem();
  await createUser('alice', 'power_user');
  await createUser('bob', 'power_user');
});
afterAll(async () => {
  await sys?.stop();
});

describe('private documents stay private', () => {
  it("gives a private e-mail's attachment the e-mail's owner and visibility", async () => {
    const attachment = Buffer.from(`Attachment ${RUN}: the Quellmoor survey results, by Alice.`).toString('base64');
    const eml = [
      `From: Alice <alice-${RUN}@example.com>`,
      `To: Team <team@example.com>`,
      `Subject: Survey ${RUN}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Please find the Quellmoor survey attached. ${RUN}`,
      '--b1',
      'Content-Type: text/plain; name="survey.txt"',
      'Content-Disposition: attachment; filename="survey.txt"',
      'Content-Transfer-Encoding: base64',
      '',
      attachment,
      '--b1--',
      '',
    ].join('\r\n');
    const mail = await ingest(users.alice!.token, `survey-${RUN}.eml`, Buffer.from(eml), 'private', 'message/rfc822');
    const child = (await sys.deps.db.query(`SELECT id, owner_id, visibility, status FROM documents WHERE parent_id = $1`, [mail.document_id])).rows[0];
    expect(child).toMatchObject({ owner_id: users.alice!.id, visibility: 'private' });
    await waitForDocument(sys.url, child.id, 240_000, users.alice!.token);
    // Bob and the administrator do not see it; Alice deletes it.
    expect((await api(sys.url, `/api/documents/${child.id}`, { token: users.bob!.token })).status).toBe(404);
    expect((await api(sys.url, `/api/documents/${child.id}`)).status).toBe(404);
    expect((await api(sys.url, `/api/documents/${child.id}?wait=true`, { method: 'DELETE', token: users.alice!.token })).status).toBe(200);
  });

  it("never links a question to another user's private entities, nor lets them shape the organisation's", async () => {
    const doc = await ingest(users.alice!.token, `private-${RUN}.txt`, Buffer.from(`${SECRET} notes\n\n${CANARY} Holdings owns the Pellworth Foundry. ${CANARY} Holdings is secret. ${RUN}`), 'private');
    docs.alicePrivate = doc.document_id;
    const question = `What does ${CANARY} Holdings own?`;
    const linked = (r: { json: { plan: { entities: { name: string }[] } } }) => r.json.plan.entities.map((e) => e.name);
    // The control: Alice's own retrieval links her entity and finds her document.
    const asAlice = await api(sys.url, '/api/retrieve', { method: 'POST', json: { question, mode: 'graph', top_k: 5 }, token: users.alice!.token });
    expect(linked(asAlice)).toContain(`${CANARY} Holdings`);
    for (const mode of ['graph', 'hybrid'] as const) {
      const asBob = await api(sys.url, '/api/retrieve', { method: 'POST', json: { question, mode, top_k: 5 }, token: users.bob!.token });
      expect(asBob.status).toBe(200);
      expect(linked(asBob).filter((n: string) => n.includes(CANARY))).toEqual([]);
      expect(asBob.json.chunks.map((c: { document_id: string }) => c.document_id)).not.toContain(doc.document_id);
      expect(asBob.text).not.toContain(SECRET);
    }
    // The same name in an organisation document and in Alice's private one are two entities: the
    // organisation's knows nothing of Alice's document.
    const shared = 'Pellworth Foundry';
    docs.orgFoundry = (await ingest(users.bob!.token, `org-${RUN}.txt`, Buffer.from(`The ${shared} casts bells in Emsland. ${RUN}`), 'organisation')).document_id;
    const found = await api(sys.url, `/api/graph/entities?q=${encodeURIComponent(shared)}`, { token: users.bob!.token });
    const ids: string[] = found.json.entities.filter((e: { name: string }) => e.name === shared).map((e: { id: string }) => e.id);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      const e = await api(sys.url, `/api/graph/entities/${id}`, { token: users.bob!.token });
      expect(e.json.mentions.map((m: { document_id: string }) => m.document_id)).not.toContain(doc.document_id);
      expect(e.text).not.toContain(CANARY);
    }
    const entities = await sys.deps.graph.executeQuery(`MATCH (c:Chunk)-[:MENTIONS]->(e:Entity {name: $n}) WHERE c.document_id IN $docs RETURN c.document_id AS d, e.id AS id`, { n: shared, docs: [doc.document_id] });
    expect(entities.records.map((r) => r.get('id'))).not.toEqual(expect.arrayContaining(ids));
  });

  it("shows an administrator other users' history and batch results without what their private documents said", async () => {
    // The question names nothing secret; Alice's private document (titled with SECRET) answers it.
    // Retrieval is kept to this run's two documents that name the foundry: the stores keep earlier
    // runs' organisation documents about it, which would otherwise outrank Alice's.
    const filters = { document_ids: [docs.alicePrivate!, docs.orgFoundry!] };
    const b = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions: ['Who owns the Pellworth Foundry?'], generate: false, filters }, token: users.alice!.token });
    expect(b.status).toBe(202);
    await until(async () => (await api(sys.url, `/api/query/batch/${b.json.batch_id}`, { token: users.alice!.token })).json.status === 'completed', 120_000, 'the batch');
    const own = await api(sys.url, `/api/query/batch/${b.json.batch_id}/results`, { token: users.alice!.token });
    expect(own.text).toContain(SECRET); // the control: Alice sees what her document said
    const queryId = own.json.results[0].query_id as string;
    const asAdmin = await api(sys.url, `/api/query/batch/${b.json.batch_id}/results`);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.json.results[0]).toMatchObject({ withheld: true, retrieved: [], citations: [] });
    const history = await api(sys.url, '/api/query/history?limit=200');
    expect(history.json.queries.find((q: { id: string }) => q.id === queryId)).toMatchObject({ withheld: true, answer: null });
    const one = await api(sys.url, `/api/query/${queryId}`);
    expect(one.json).toMatchObject({ withheld: true, response: { retrieved: [], citations: [] } });
    for (const r of [asAdmin, history, one]) expect(r.text).not.toContain(SECRET);
  });

  it('does not tell a second uploader that someone holds the same bytes privately', async () => {
    const bytes = Buffer.from(`A file both happen to have. ${RUN}`);
    const first = await ingest(users.alice!.token, `same-${RUN}.txt`, bytes, 'private');
    const up = await upload(sys.url, [{ name: `same-${RUN}.txt`, bytes }], 'nlp', { token: users.bob!.token });
    expect(up.json.documents[0]).toMatchObject({ duplicate: false });
    expect(up.json.documents[0].document_id).not.toBe(first.document_id);
    // Alice uploading it again is her own duplicate.
    const again = await upload(sys.url, [{ name: `same-${RUN}.txt`, bytes }], 'nlp', { token: users.alice!.token, visibility: 'private' });
    expect(again.json.documents[0]).toMatchObject({ duplicate: true, document_id: first.document_id });
  });
});

describe('workspaces and installation-wide controls', () => {
  let wsAdmin: { id: string; email: string; token: string };
  beforeAll(async () => {
    expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id: W3, name: 'Tenancy' } })).status).toBe(201);
    const inW3 = (await login(sys.url, { ...adminCredentials(), workspace_id: W3 })).access_token as string;
    wsAdmin = await createUser('wsadmin', 'admin', inW3, W3);
    // Bob joins W3 as a user, so W3's administrator can see him there.
    expect((await api(sys.url, '/api/admin/members', { method: 'POST', json: { email: users.bob!.email, role: 'user' }, token: inW3 })).status).toBe(201);
  });

  it("keeps installation-wide controls from a workspace's administrator", async () => {
    const t = wsAdmin.token;
    for (const [method, path, json] of [
      ['GET', '/api/metrics', undefined],
      ['GET', '/api/admin/models/performance', undefined],
      ['POST', '/api/admin/models/assign', { task: 'synthesis', profile: 'local', model: 'local-smollm2-135m' }],
      ['POST', '/api/admin/models/optimize', { candidates: ['local-smollm2-135m'], tasks: ['classification'], limit: 1 }],
    ] as const) {
      const r = await api(sys.url, path, { method, json, token: t });
      expect([path, r.status, r.json?.error?.details?.required]).toEqual([path, 403, 'installation']);
    }
    // Bob is a member of W3: its administrator may change his role there, but not lock him out everywhere.
    const disable = await api(sys.url, `/api/admin/users/${users.bob!.id}`, { method: 'PATCH', json: { disabled: true }, token: t });
    expect(disable.status).toBe(403);
    expect((await api(sys.url, '/api/auth/me', { token: users.bob!.token })).status).toBe(200);
    expect((await api(sys.url, `/api/admin/users/${users.bob!.id}`, { method: 'PATCH', json: { role: 'power_user' }, token: t })).status).toBe(200);
    // Alice is not a member of W3: neither listed nor reachable.
    const list = await api(sys.url, '/api/admin/users?limit=200', { token: t });
    expect(list.json.users.map((u: { email: string }) => u.email)).not.toContain(users.alice!.email);
    expect((await api(sys.url, `/api/admin/users/${users.alice!.id}`, { method: 'PATCH', json: { role: 'user' }, token: t })).status).toBe(404);
  });

  it("shows a failed login's audit rows only in the account's own workspaces", async () => {
    const w3only = await createUser('w3only', 'user', wsAdmin.token, W3);
    const bad = await api(sys.url, '/api/auth/login', { method: 'POST', json: { email: w3only.email, password: 'not-the-password-at-all' }, token: null });
    expect(bad.status).toBe(401);
    const inW3 = await api(sys.url, `/api/admin/audit?action=auth.login&outcome=failure&limit=200`, { token: wsAdmin.token });
    expect(inW3.json.entries.map((e: { actor_email: string }) => e.actor_email)).toContain(w3only.email);
    const inDefault = await api(sys.url, `/api/admin/audit?action=auth.login&outcome=failure&limit=200`);
    expect(inDefault.json.entries.map((e: { actor_email: string }) => e.actor_email)).not.toContain(w3only.email);
  });

  it('lets only the batch owner (and administrators of its workspace) see a batch and its snapshot', async () => {
    const up = await upload(sys.url, [{ name: `batch-${RUN}.txt`, bytes: Buffer.from(`Batch ${RUN}.`) }], 'nlp', { token: users.alice!.token, visibility: 'private', path: '/api/documents/batch' });
    const batchId = up.json.batch_id as string;
    expect((await api(sys.url, `/api/documents/batch/${batchId}`, { token: users.alice!.token })).status).toBe(200);
    expect((await api(sys.url, `/api/documents/batch/${batchId}`, { token: users.bob!.token })).status).toBe(404);
    expect((await api(sys.url, `/api/documents/batch/${batchId}`, { token: wsAdmin.token })).status).toBe(404);
    const qb = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions: ['Who casts bells?'], generate: false }, token: users.alice!.token });
    const ws = sys.url.replace('http', 'ws');
    await until(async () => (await api(sys.url, `/api/query/batch/${qb.json.batch_id}`, { token: users.alice!.token })).json.status === 'completed', 120_000, 'the batch');
    // Both replay the batch's events from the start of the stream: Alice gets them, Bob none.
    const sub = `${ws}/ws/queries/batch?batch_id=${qb.json.batch_id}&last_event_id=0-0`;
    const bobs = await connectWs(sub, { authorization: `Bearer ${users.bob!.token}` });
    const alices = await connectWs(sub, { authorization: `Bearer ${users.alice!.token}` });
    await until(() => bobs.messages.length > 0 && alices.messages.length > 0, 10_000, 'the snapshots');
    expect(alices.messages[0]).toMatchObject({ type: 'snapshot', found: true });
    expect(bobs.messages[0]).toMatchObject({ type: 'snapshot', found: false, status: null });
    await until(() => alices.messages.some((m) => m.type === 'batch_progress' && m.status === 'completed'), 10_000, "Alice's replayed batch events");
    expect(bobs.messages.filter((m) => m.type !== 'snapshot')).toEqual([]);
    bobs.ws.close();
    alices.ws.close();
  });
});

describe('sessions end everywhere', () => {
  const closed = (c: Awaited<ReturnType<typeof connectWs>>) =>
    new Promise<{ code: number; reason: string }>((resolve) => c.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

  it('logout without a refresh token still ends the session it came from, and its WebSocket', async () => {
    const u = await createUser('leaver', 'user');
    const s = await login(sys.url, { email: u.email, password: PASSWORD });
    const sock = await connectWs(`${sys.url.replace('http', 'ws')}/ws/documents/processing`, { authorization: `Bearer ${s.access_token}` });
    const end = closed(sock);
    const out = await api(sys.url, '/api/auth/logout', { method: 'POST', json: {}, token: s.access_token });
    expect(out.json).toMatchObject({ logged_out: true, refresh_families_revoked: 1 });
    expect((await api(sys.url, '/api/auth/refresh', { method: 'POST', json: { refresh_token: s.refresh_token }, token: null })).status).toBe(401);
    const t0 = Date.now();
    expect(await end).toMatchObject({ code: 4401, reason: 'logged out' });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it("closes a disabled account's WebSocket within seconds", async () => {
    const u = await createUser('disabled', 'user');
    const sock = await connectWs(`${sys.url.replace('http', 'ws')}/ws/documents/processing`, { authorization: `Bearer ${u.token}` });
    const end = closed(sock);
    expect((await api(sys.url, `/api/admin/users/${u.id}`, { method: 'PATCH', json: { disabled: true } })).status).toBe(200);
    const t0 = Date.now();
    expect(await end).toMatchObject({ code: 4401, reason: 'account disabled' });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('closes a WebSocket when its access token expires', async () => {
    const u = await createUser('expiring', 'user');
    // A real token of this installation, valid for three seconds.
    const token = jwt.sign({ ws: 'default', typ: 'access' }, process.env.JWT_SECRET_KEY!, { algorithm: 'HS256', subject: u.id, expiresIn: 3, issuer: 'neuronode', audience: 'neuronode-api', jwtid: `exp-${RUN}` });
    const sock = await connectWs(`${sys.url.replace('http', 'ws')}/ws/documents/processing`, { authorization: `Bearer ${token}` });
    const end = closed(sock);
    const t0 = Date.now();
    expect(await end).toMatchObject({ code: 4401, reason: 'access token expired' });
    expect(Date.now() - t0).toBeLessThan(12_000);
  });
});
