import type { ChildProcess } from 'node:child_process';
import { COLLECTIONS } from '../../src/adapters';
import { ALERTS_STREAM } from '../../src/alerts-stream';
import { upload } from '../helpers/documents';
import { adminCredentials, api, startSystem, type System } from '../helpers/system';
import { stopChild } from '../helpers/teardown';
import { startWorkerProcess } from '../helpers/worker';

/**
 * The budget gate against the real stack: an ingestion estimated above the workspace's threshold
 * waits durably (through a killed worker) for an administrator; approved it runs, rejected it ends
 * with nothing written; the daily spend limit pauses model work until it is raised. Real LiteLLM
 * prices and real local model calls; a workspace of its own so no other test's spend counts.
 */
jest.setTimeout(900_000);

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const WS = `budget-${RUN}`;
const H = { 'x-workspace-id': WS };
let sys: System;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  // Paused ingestions check again every second here (a minute by default).
  sys = await startSystem({ BUDGET_RECHECK_MS: 1000 }, { worker: false });
  worker = await startWorkerProcess();
  expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id: WS, name: 'Budget gate' } })).status).toBe(201);
});
afterAll(async () => {
  // Ingestions a failed assertion left waiting or paused are ended, so they do not outlive the test.
  if (sys?.deps.temporal) {
    for await (const w of sys.deps.temporal.workflow.list({ query: `WorkspaceId = '${WS}' AND ExecutionStatus = 'Running'` })) {
      await sys.deps.temporal.workflow.getHandle(w.workflowId).terminate('ended by the budget test').catch(() => undefined);
    }
  }
  if (worker) await stopChild(worker, 'SIGKILL');
  await sys?.stop();
});

const setBudget = async (json: Record<string, number | null>) => {
  const r = await api(sys.url, '/api/admin/budget', { method: 'PATCH', json, headers: H });
  expect(r.status).toBe(200);
  return r.json;
};

async function uploadLocal(name: string, text: string): Promise<string> {
  const r = await upload(sys.url, [{ name, bytes: Buffer.from(text) }], 'local', { headers: H });
  expect(r.status).toBe(202);
  return r.json.documents[0].document_id as string;
}

async function waitFor(id: string, ok: (d: Record<string, any>) => boolean, what: string, ms = 300_000) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const end = Date.now() + ms;
  for (;;) {
    const d = await api(sys.url, `/api/documents/${id}`, { headers: H });
    if (d.status === 200 && ok(d.json)) return d.json;
    if (Date.now() > end) throw new Error(`document ${id} never became ${what}: ${d.json?.status}/${d.json?.stage}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const modelCalls = async (id: string) =>
  (await sys.deps.db.query(`SELECT count(*)::int AS n, coalesce(sum(cost_usd), 0)::float AS usd, coalesce(sum(tokens_in), 0)::int AS tokens_in FROM model_calls WHERE workflow_id = $1`, [`ingest-${id}`])).rows[0] as { n: number; usd: number; tokens_in: number };

async function alerts(kind: string) {
  const entries = await sys.deps.redis.xrange(ALERTS_STREAM, '-', '+');
  return entries.map(([, f]) => JSON.parse(f[1]!)).filter((e) => e.kind === kind && e.workspace_id === WS);
}

/** What a document left in every store. */
async function leftovers(id: string) {
  const pg = (
    await sys.deps.db.query(
      `SELECT (SELECT count(*) FROM chunks WHERE document_id = $1)::int AS chunks,
              (SELECT count(*) FROM extraction_batches WHERE document_id = $1)::int AS batches,
              (SELECT count(*) FROM document_entities WHERE document_id = $1)::int AS entities,
              (SELECT count(*) FROM document_blobs WHERE document_id = $1)::int AS originals`,
      [id],
    )
  ).rows[0];
  const col = await sys.deps.chroma.getCollection({ name: COLLECTIONS.chunks });
  const vectors = (await col.get({ where: { document_id: id }, include: [] })).ids.length;
  const g = await sys.deps.graph.executeQuery(`MATCH (n) WHERE n.document_id = $id OR n.id = $id RETURN count(n) AS n`, { id });
  return { ...pg, vectors, graphNodes: g.records[0]!.get('n').toNumber?.() ?? Number(g.records[0]!.get('n')) };
}

const TEXT = (topic: string) =>
  `${topic} — Ingrid Solvang leads the Varde Harbour Heat project in Esbjerg. Run ${RUN}.\n\nThe Varde Harbour Heat project pipes waste heat from the Esbjerg smelter to 4,000 homes; Ingrid Solvang signed the contract with Maren Holt in March.`;

describe('budget gate', () => {
  it('holds an ingestion estimated above the threshold — through a worker kill — until an administrator approves; then it runs', async () => {
    const settings = await setBudget({ approval_above_usd: 0 });
    expect(settings).toMatchObject({ workspace_id: WS, approval_above_usd: 0, source: 'workspace' });
    const id = await uploadLocal(`approve-${RUN}.txt`, TEXT('Approved'));
    const waiting = await waitFor(id, (d) => d.status === 'awaiting_approval', 'awaiting_approval');
    // The estimate: real prompts counted, real gateway prices; no model called yet.
    expect(waiting.stage).toBe('awaiting_approval');
    expect(waiting.budget.needs_approval).toBe(true);
    expect(waiting.budget.estimate.cost_usd).toBeGreaterThan(0);
    expect(waiting.budget.estimate.calls).toBe(2); // classification + one extraction batch
    expect(waiting.budget.prices.extraction.input).toBeGreaterThan(0);
    expect(waiting.progress.stage).toBe('awaiting_approval');
    expect(waiting.progress.budget.estimate.cost_usd).toBe(waiting.budget.estimate.cost_usd);
    expect((await modelCalls(id)).n).toBe(0);
    const overview = (await api(sys.url, '/api/admin/budget', { headers: H })).json;
    expect(overview.awaiting_approval.map((w: { document_id: string }) => w.document_id)).toEqual([id]);
    expect((await alerts('budget_approval_required')).map((a) => a.document_id)).toContain(id);

    // The wait is durable: the worker dies and another takes over; the document still waits.
    worker!.kill('SIGKILL');
    worker = await startWorkerProcess();
    await new Promise((r) => setTimeout(r, 2000));
    expect((await api(sys.url, `/api/documents/${id}`, { headers: H })).json.status).toBe('awaiting_approval');

    const decided = await api(sys.url, `/api/documents/${id}/budget-decision`, { method: 'POST', json: { approve: true, reason: 'within the quarter' }, headers: H });
    expect(decided.status).toBe(202);
    const done = await waitFor(id, (d) => d.status === 'completed' || d.status === 'failed', 'finished');
    expect(done.status).toBe('completed');
    expect(done.budget.decision).toMatchObject({ approve: true, by: adminCredentials().email, reason: 'within the quarter' });
    const actual = await modelCalls(id);
    expect(actual.n).toBeGreaterThanOrEqual(2);
    console.log(`budget estimate for ${id}: ${done.budget.estimate.cost_usd} USD (worst case ${done.budget.estimate.worst_case_usd}, output basis ${JSON.stringify(done.budget.estimate.basis)}); actual ${actual.usd} USD over ${actual.n} calls`);
    // The estimate counts the real prompts: its input tokens are those the gateway reported, give or
    // take the tokenizer (ours counts with a GPT tokenizer, the local models with their own). The output
    // side depends on what the model writes (seen: 23 estimated from the installation's average, 1,593
    // written), so the bound that must hold is the worst case: every call writing its max_tokens.
    expect(actual.tokens_in).toBeGreaterThan(done.budget.estimate.tokens_in / 1.5);
    expect(actual.tokens_in).toBeLessThan(done.budget.estimate.tokens_in * 1.5);
    expect(done.budget.estimate.cost_usd).toBeLessThanOrEqual(done.budget.estimate.worst_case_usd);
    // (The worst case priced with the gateway's own input count, at most 1.5 times ours.)
    expect(actual.usd).toBeLessThanOrEqual(done.budget.estimate.worst_case_usd * 1.5);
    const audit = await sys.deps.db.query(`SELECT outcome, details FROM audit_log WHERE action LIKE 'POST /api/documents/%/budget-decision' AND details->>'document_id' = $1`, [id]);
    expect(audit.rows[0]).toMatchObject({ outcome: 'success' });
    // A decision on a document that no longer waits is refused.
    expect((await api(sys.url, `/api/documents/${id}/budget-decision`, { method: 'POST', json: { approve: true }, headers: H })).status).toBe(409);
  });

  it('ends a rejected ingestion cleanly: nothing written but the record and its original, no model called', async () => {
    await setBudget({ approval_above_usd: 0 });
    const id = await uploadLocal(`reject-${RUN}.txt`, TEXT('Rejected'));
    await waitFor(id, (d) => d.status === 'awaiting_approval', 'awaiting_approval');
    expect((await leftovers(id)).chunks).toBeGreaterThan(0); // the estimate is made from stored chunks
    // Two decisions at once: exactly one is taken, whichever arrives first; the other is told who decided.
    // (Both reject, with different reasons, so the rest holds whichever wins the race.)
    const reasons = ['too dear', 'not needed'];
    const answers = await Promise.all(reasons.map((reason) => api(sys.url, `/api/documents/${id}/budget-decision`, { method: 'POST', json: { approve: false, reason }, headers: H })));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const winner = reasons[answers.findIndex((a) => a.status === 202)]!;
    expect(answers.find((a) => a.status === 409)!.json.error.message).toMatch(/has rejected it|is rejected, not awaiting/);
    const result = (await sys.deps.temporal!.workflow.getHandle(`ingest-${id}`).result()) as { status: string };
    expect(result.status).toBe('rejected');
    const doc = (await api(sys.url, `/api/documents/${id}`, { headers: H })).json;
    expect(doc.status).toBe('rejected');
    expect(doc.error).toMatchObject({ type: 'BudgetRejected', stage: 'awaiting_approval' });
    expect(doc.error.message).toContain(`rejected: ${winner}`);
    expect(doc.budget.decision).toMatchObject({ approve: false, reason: winner });
    expect(await leftovers(id)).toEqual({ chunks: 0, batches: 0, entities: 0, originals: 1, vectors: 0, graphNodes: 0 });
    expect((await modelCalls(id)).n).toBe(0);
  });

  it('pauses model work at the daily spend limit and resumes when the limit is raised', async () => {
    // The workspace has spent real money today (the approved ingestion): a limit of 0 is reached.
    const settings = await setBudget({ approval_above_usd: null, daily_limit_usd: 0 });
    expect(settings.spent_today_usd).toBeGreaterThan(0);
    expect(settings.daily_limit_reached).toBe(true);
    const id = await uploadLocal(`paused-${RUN}.txt`, TEXT('Paused'));
    const paused = await waitFor(id, (d) => d.stage === 'paused', 'paused');
    expect(paused.status).toBe('processing');
    expect(paused.progress.paused.reason).toMatch(/daily limit of 0 USD/);
    expect(paused.progress.paused.resume_at).toMatch(/T00:00:00.000Z$/);
    await new Promise((r) => setTimeout(r, 3000)); // three re-checks: still paused, still no call
    expect((await api(sys.url, `/api/documents/${id}`, { headers: H })).json.stage).toBe('paused');
    expect((await modelCalls(id)).n).toBe(0);
    expect((await alerts('budget_daily_limit')).length).toBe(1);
    // A question meanwhile gets a clear refusal, without a model call, and the refusal is not cached.
    const question = { question: 'Who leads the Varde Harbour Heat project?', profile: 'local', top_k: 3 };
    const refused = await api(sys.url, '/api/query', { method: 'POST', json: question, headers: H });
    expect(refused.status).toBe(200);
    expect(refused.json.validation.grounded).toBe(false);
    expect(refused.json.validation.reasons.join(' ')).toMatch(/daily limit of 0 USD/);
    const refusedCalls = await sys.deps.db.query(`SELECT count(*)::int AS n FROM model_calls WHERE workflow_id = $1`, [refused.json.workflow_id]);
    expect(refusedCalls.rows[0].n).toBe(0);

    await setBudget({ daily_limit_usd: null });
    const done = await waitFor(id, (d) => d.status === 'completed' || d.status === 'failed', 'finished');
    expect(done.status).toBe('completed');
    expect((await modelCalls(id)).n).toBeGreaterThanOrEqual(2);
    const again = await api(sys.url, '/api/query', { method: 'POST', json: question, headers: H });
    expect(again.json.cached).toBe(false);
    expect(again.json.validation.reasons.join(' ')).not.toMatch(/daily limit/);
  });

  it('takes one decision for a whole batch: its waiting documents get it at once, the later ones without waiting', async () => {
    await setBudget({ approval_above_usd: 0, daily_limit_usd: null });
    const batch = async (tag: string, n: number, window: number) => {
      const form = new FormData();
      for (let i = 0; i < n; i++) form.append('files', new Blob([`Batch ${tag} document ${i}: the Esbjerg heat network reached ${i * 1000 + 7} homes. Run ${RUN}.`]), `batch-${tag}-${i}-${RUN}.txt`);
      form.append('profile', 'nlp');
      form.append('window', String(window));
      const r = await api(sys.url, '/api/documents/batch', { method: 'POST', body: form, headers: H });
      expect(r.status).toBe(202);
      return { batchId: r.json.batch_id as string, ids: (r.json.documents as { document_id: string }[]).map((d) => d.document_id) };
    };
    const statuses = async (ids: string[]) => (await sys.deps.db.query(`SELECT id, status, budget FROM documents WHERE id = ANY($1) ORDER BY id`, [ids])).rows;
    const settle = async (batchId: string) => {
      const end = Date.now() + 300_000;
      for (;;) {
        const b = await api(sys.url, `/api/documents/batch/${batchId}`, { headers: H });
        if (b.json.status === 'completed') return b.json.progress;
        if (Date.now() > end) throw new Error(`batch ${batchId} is still ${b.json.status}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };

    // Approve: five documents, two at a time; the first two wait, one decision releases all five.
    const a = await batch('approve', 5, 2);
    const end = Date.now() + 120_000;
    while ((await statuses(a.ids)).filter((d) => d.status === 'awaiting_approval').length < 2) {
      if (Date.now() > end) throw new Error(`the batch's first documents never waited: ${JSON.stringify((await statuses(a.ids)).map((d) => d.status))}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const decided = await api(sys.url, `/api/documents/batch/${a.batchId}/budget-decision`, { method: 'POST', json: { approve: true, reason: 'batch approved' }, headers: H });
    expect(decided.status).toBe(202);
    expect(decided.json.signalled).toHaveLength(2);
    expect((await settle(a.batchId)).completed).toBe(5);
    const approved = await statuses(a.ids);
    expect(approved.map((d) => d.status)).toEqual(Array(5).fill('completed'));
    for (const d of approved) expect(d.budget.decision).toMatchObject({ approve: true, batch_id: a.batchId, reason: 'batch approved' });
    expect((await api(sys.url, `/api/documents/batch/${a.batchId}/budget-decision`, { method: 'POST', json: { approve: false }, headers: H })).status).toBe(409);

    // Reject: three documents, one at a time; one rejection ends all three, none left half-written.
    const r = await batch('reject', 3, 1);
    const end2 = Date.now() + 120_000;
    while (!(await statuses(r.ids)).some((d) => d.status === 'awaiting_approval')) {
      if (Date.now() > end2) throw new Error('the rejected batch never waited');
      await new Promise((res) => setTimeout(res, 300));
    }
    expect((await api(sys.url, `/api/documents/batch/${r.batchId}/budget-decision`, { method: 'POST', json: { approve: false, reason: 'not now' }, headers: H })).status).toBe(202);
    expect((await settle(r.batchId)).rejected).toBe(3);
    for (const id of r.ids) expect(await leftovers(id)).toEqual({ chunks: 0, batches: 0, entities: 0, originals: 1, vectors: 0, graphNodes: 0 });
    expect((await api(sys.url, '/api/documents/batch/00000000-0000-4000-8000-000000000000/budget-decision', { method: 'POST', json: { approve: true }, headers: H })).status).toBe(404);
  });
});
