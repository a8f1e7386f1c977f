import type { ChildProcess } from 'node:child_process';
import { ScheduleNotFoundError } from '@temporalio/client';
import { Pool } from 'pg';
import { LlmClient, ModelCallNotRecordedError } from '../../src/adapters/llm';
import { allAliases, localModelFor } from '../../src/domain/model-aliases';
import { ensureOptimizationSchedule, optimizeScheduleId } from '../../src/schedules';
import { CircuitOpenError } from '../../src/adapters/circuit';
import { snapshotModelAssignments } from '../helpers/assignments';
import { ingest } from '../helpers/documents';
import { stack } from '../helpers/stack';
import { api, authHeaders, login, startSystem, type System } from '../helpers/system';
import { connectWs, until } from '../helpers/ws';
import { stopChild } from '../helpers/teardown';
import { startWorkerProcess } from '../helpers/worker';

/**
 * The model gateway against the real LiteLLM and local models: analytics of pipeline calls, an
 * assignment that reroutes the next call in another process, and outages that fail over along the
 * profile chain, fail clearly and open a circuit that closes again.
 */
jest.setTimeout(900_000);

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let sys: System;
let worker: ChildProcess | undefined;

/** Restores the installation's model assignments as they were before this file. */
let restoreAssignments: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // The API here; the worker — which makes the model calls — in a process of its own.
  sys = await startSystem({}, { worker: false });
  restoreAssignments = await snapshotModelAssignments(sys.deps.db, sys.deps.redis);
  worker = await startWorkerProcess();
  const doc = await ingest(sys.url, `gateway-${RUN}.txt`, Buffer.from(`Annelie Brostrom founded the Skarvik Tidal Energy Cooperative in 2019. Run ${RUN}.`));
  expect(doc.status).toBe('completed');
});
afterAll(async () => {
  if (worker) await stopChild(worker, 'SIGTERM');
  if (sys) {
    // The assignments this file made (by hand or by an optimisation run) must not route the models
    // of the files after it.
    await restoreAssignments?.();
    try {
      await sys.deps.temporal!.schedule.getHandle(optimizeScheduleId(sys.deps.env)).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  await sys?.stop();
});

const callsOf = async (workflowId: string) =>
  (await sys.deps.db.query(`SELECT alias, served_by, latency_ms, tokens_in, tokens_out, cost_usd, ok FROM model_calls WHERE workflow_id = $1 ORDER BY id`, [workflowId])).rows;

/** The model that serves the answer on the local profile, as LiteLLM reports it. */
const SYNTHESIS_MODEL = `openai/${localModelFor('synthesis')}`;

async function ask(question: string) {
  const r = await api(sys.url, '/api/query', { method: 'POST', json: { question, profile: 'local', top_k: 3 } });
  expect(r.status).toBe(200);
  return r.json as { workflow_id: string; stages: Record<string, { model?: string }> };
}

describe('model gateway', () => {
  it('records the pipeline’s calls with latency, tokens, cost and the serving model, and aggregates them', async () => {
    const a = await ask('Who founded the Skarvik Tidal Energy Cooperative?');
    const calls = await callsOf(a.workflow_id);
    const synthesis = calls.find((c) => c.alias === 'synthesis_local');
    expect(synthesis).toMatchObject({ ok: true, served_by: SYNTHESIS_MODEL });
    expect(synthesis!.latency_ms).toBeGreaterThan(0);
    expect(synthesis!.tokens_in).toBeGreaterThan(0);
    expect(synthesis!.tokens_out).toBeGreaterThan(0);
    expect(synthesis!.cost_usd).toBeGreaterThan(0);
    const perf = await api(sys.url, '/api/admin/models/performance?alias=synthesis_local&hours=1');
    const row = perf.json.models.find((m: { model: string }) => m.model === SYNTHESIS_MODEL);
    expect(row.total_requests).toBeGreaterThanOrEqual(1);
    expect(row.success_rate).toBeGreaterThan(0);
    expect(row.p95_response_ms).toBeGreaterThanOrEqual(row.avg_response_ms > 0 ? 1 : 0);
    const view = await sys.deps.db.query(`SELECT total_requests FROM model_performance_metrics WHERE alias = 'synthesis_local' AND model = $1`, [SYNTHESIS_MODEL]);
    expect(view.rows[0].total_requests).toBeGreaterThanOrEqual(row.total_requests);
  });

  it('reroutes the next call in the worker process when an administrator assigns another model', async () => {
    const refused = await api(sys.url, '/api/admin/models/assign', { method: 'POST', json: { task: 'synthesis', profile: 'local', model: 'no-such-model' } });
    expect(refused.status).toBe(400);
    const set = await api(sys.url, '/api/admin/models/assign', { method: 'POST', json: { task: 'synthesis', profile: 'local', model: 'local-smollm2-135m', reason: 'test' } });
    expect(set.status).toBe(200);
    const b = await ask('In which year was the Skarvik Tidal Energy Cooperative founded?');
    expect((await callsOf(b.workflow_id)).find((c) => c.alias === 'synthesis_local')).toMatchObject({ ok: true, served_by: 'openai/local-smollm2-135m' });
    const audit = await sys.deps.db.query(`SELECT details FROM audit_log WHERE action = 'POST /api/admin/models/assign' AND outcome = 'success' ORDER BY id DESC LIMIT 1`);
    expect(audit.rows[0].details).toMatchObject({ task: 'synthesis', profile: 'local', after: 'local-smollm2-135m' });
    // Back to the alias's own model, again without a restart.
    expect((await api(sys.url, '/api/admin/models/assign', { method: 'POST', json: { task: 'synthesis', profile: 'local', model: null } })).status).toBe(200);
    const c = await ask('Who founded the Skarvik Tidal Energy Cooperative, and when?');
    expect((await callsOf(c.workflow_id)).find((x) => x.alias === 'synthesis_local')).toMatchObject({ served_by: SYNTHESIS_MODEL });
  });

  it('a model call that cannot be recorded where the spend limit counts it fails, after retries, instead of going unrecorded', async () => {
    const env = sys.deps.env;
    // PostgreSQL unreachable for this client only: a real connection to a port nothing listens on.
    const unreachable = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 1000 });
    try {
      const llm = new LlmClient({ baseUrl: env.LITELLM_URL, masterKey: env.LITELLM_MASTER_KEY, db: unreachable });
      const started = Date.now();
      const err = await llm.embed('text_embedding_3_large', ['probe'], { workspaceId: 'default' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelCallNotRecordedError);
      expect((err as Error).message).toMatch(/text_embedding_3_large.*ECONNREFUSED/);
      expect(Date.now() - started).toBeGreaterThan(3000); // retried with back-off before giving up
    } finally {
      await unreachable.end();
    }
  });

  it.each([
    ['the local model server', 'models'],
    ['the gateway itself', 'litellm'],
  ])('with %s down: walks the fallback chain, fails clearly without a retry storm, opens the circuit, and closes it once it is back', async (_what, service) => {
    const env = sys.deps.env;
    const llm = new LlmClient({ baseUrl: env.LITELLM_URL, masterKey: env.LITELLM_MASTER_KEY, timeoutMs: 10_000, maxRetries: 1, db: sys.deps.db, circuit: { failureThreshold: 2, coolDownMs: 3000 } });
    const ctx = { workflowId: `gateway-down-${service}-${RUN}` };
    const msg = [{ role: 'user' as const, content: 'Say OK.' }];
    expect((await stack('stop', service)).code).toBe(0);
    try {
      const started = Date.now();
      const first = await llm.chat('synthesis_premium', msg, ctx, { maxTokens: 4 }).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(30_000); // no hang
      // One attempt per alias of the chain, in order — not a storm.
      const calls = await callsOf(ctx.workflowId);
      expect(calls.map((r) => r.alias)).toEqual(['synthesis_premium', 'synthesis_balanced', 'synthesis_local']);
      expect(calls.every((c) => c.ok === false)).toBe(true);
      await expect(llm.chat('synthesis_premium', msg, ctx, { maxTokens: 4 })).rejects.toThrow();
      // Every circuit of the chain is open now: the next call fails at once, clearly.
      const fast = Date.now();
      const err = await llm.chat('synthesis_premium', msg, ctx, { maxTokens: 4 }).catch((e: unknown) => e);
      expect(Date.now() - fast).toBeLessThan(200);
      expect(err).toBeInstanceOf(CircuitOpenError);
      expect((err as Error).message).toMatch(/circuit for synthesis_local is open/);
      expect(llm.circuits.snapshot().synthesis_premium!.state).toBe('open');
      expect((await callsOf(ctx.workflowId)).length).toBe(6 + 3);
      if (service === 'models') {
        // The gateway is up but nothing behind it answers: every alias's probe says so.
        const health = (await api(sys.url, '/api/admin/models/health?refresh=true')).json;
        expect(health.gateway.ok).toBe(true);
        expect(health.aliases.filter((a: { probe: { ok: boolean } | null }) => a.probe?.ok === false)).toHaveLength(27);
      }
    } finally {
      expect((await stack('start', service)).code).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 3500)); // the cool-down
    const ok = await llm.chat('synthesis_premium', msg, ctx, { maxTokens: 4 });
    expect(ok.usage.alias).toBe('synthesis_premium');
    expect(llm.circuits.snapshot().synthesis_premium!.state).toBe('closed');
  });

  it('probes every alias with one real minimal call, and serves the probe from its cache until it is stale', async () => {
    const fresh = await api(sys.url, '/api/admin/models/health?refresh=true');
    expect(fresh.status).toBe(200);
    expect(fresh.json.probe.stale).toBe(false);
    expect(fresh.json.aliases).toHaveLength(27);
    for (const a of fresh.json.aliases) {
      expect(a.probe).toMatchObject({ ok: true });
      expect(a.probe.served_by).toMatch(/^openai\/local-/);
    }
    const probes = async () => (await sys.deps.db.query(`SELECT count(*)::int AS n FROM model_calls WHERE activity = 'health_probe'`)).rows[0].n as number;
    const before = await probes();
    const cached = await api(sys.url, '/api/admin/models/health');
    expect(cached.json.probe.probed_at).toBe(fresh.json.probe.probed_at);
    expect(cached.json.probe.refreshing).toBe(false);
    expect(await probes()).toBe(before); // no model traffic for a cached answer

    // With no probe cached, a plain request starts one behind its answer; a request for fresh
    // probes meanwhile waits for that one instead of answering without any.
    await sys.deps.redis.del('neuronode:models:probe');
    const since = Date.now();
    const behind = await api(sys.url, '/api/admin/models/health');
    expect(behind.json.probe).toMatchObject({ probed_at: null, refreshing: true });
    const waited = await api(sys.url, '/api/admin/models/health?refresh=true');
    expect(Date.parse(waited.json.probe.probed_at)).toBeGreaterThanOrEqual(since);
    expect(waited.json.aliases.filter((a: { probe: unknown }) => a.probe === null)).toEqual([]);
  });

  it('names what the gateway serves: its local models, apart from the aliases it also serves', async () => {
    const served = await api(sys.url, '/api/admin/models/served');
    expect(served.status).toBe(200);
    expect(served.json.models).toEqual(expect.arrayContaining(['local-gemma3-270m', 'local-smollm2-135m']));
    expect([...served.json.aliases].sort()).toEqual([...allAliases()].sort());
    expect(served.json.models.filter((m: string) => (allAliases() as string[]).includes(m))).toEqual([]);
  });
});

describe('model optimisation', () => {
  it('scores two real local candidates on the golden set, decides per profile with evidence, waits for approval and applies, each step announced live', async () => {
    const channel = `${sys.url.replace('http', 'ws')}/ws/models/optimizations`;
    // The live channel is for those who manage models: a plain user's upgrade is refused.
    const email = `models-viewer-${RUN}@example.com`;
    const password = `pw-${RUN}-Correct-Horse`;
    expect((await api(sys.url, '/api/admin/users', { method: 'POST', json: { email, password, role: 'user' } })).status).toBe(201);
    const viewer = (await login(sys.url, { email, password })).access_token as string;
    await expect(connectWs(channel, { authorization: `Bearer ${viewer}` })).rejects.toThrow(/403/);
    const live = await connectWs(channel, authHeaders(sys.url));
    const start = await api(sys.url, '/api/admin/models/optimize', {
      method: 'POST',
      json: { candidates: ['local-gemma3-270m', 'local-smollm2-135m'], tasks: ['classification', 'validation'], limit: 2, require_approval: true },
    });
    expect(start.status).toBe(202);
    const id = start.json.run_id as string;
    const end = Date.now() + 600_000;
    let run = (await api(sys.url, `/api/admin/models/optimizations/${id}`)).json;
    while (run.status !== 'awaiting_approval') {
      if (Date.now() > end || run.status === 'failed') throw new Error(`run ${id} is ${run.status}`);
      await new Promise((r) => setTimeout(r, 2000));
      run = (await api(sys.url, `/api/admin/models/optimizations/${id}`)).json;
    }
    expect(run.golden_version).toBe('v1');
    // The list of runs shows it waiting, newest first.
    const listed = (await api(sys.url, '/api/admin/models/optimizations?limit=100')).json.runs as { id: string; created_at: string }[];
    expect(listed.find((r) => r.id === id)).toMatchObject({ status: 'awaiting_approval', trigger: 'admin', candidates: ['local-gemma3-270m', 'local-smollm2-135m'], tasks: ['classification', 'validation'], require_approval: true, finished_at: null });
    const created = listed.map((r) => Date.parse(r.created_at));
    expect(created).toEqual([...created].sort((x, y) => y - x));
    expect((await api(sys.url, '/api/admin/models/optimizations?limit=0')).status).toBe(400);
    // Every candidate × task scored, with quality, latency and cost measured on real calls.
    expect(run.scores).toHaveLength(4);
    for (const s of run.scores) {
      expect(s.items).toBe(2);
      expect(s.quality).toBeGreaterThanOrEqual(0);
      expect(s.quality).toBeLessThanOrEqual(1);
      if (s.errors < s.items) expect(s.p50Ms).toBeGreaterThan(0);
    }
    // A decision for every slot × profile the tasks cover, each with its rule and evidence.
    expect(run.decision).toHaveLength(3 * 5);
    for (const d of run.decision) {
      expect(d.evidence).toHaveLength(2);
      expect(d.rule).toMatch(/quality|cost|latency|floor/);
    }
    const calls = await sys.deps.db.query(`SELECT DISTINCT served_by FROM model_calls WHERE workflow_id = $1 AND ok`, [id]);
    expect(calls.rows.map((r) => r.served_by).sort()).toEqual(['openai/local-gemma3-270m', 'openai/local-smollm2-135m']);
    // Nothing is applied before the approval.
    expect((await sys.deps.db.query(`SELECT count(*)::int AS n FROM model_assignments WHERE reason->>'run_id' = $1`, [id])).rows[0].n).toBe(0);
    expect((await api(sys.url, `/api/admin/models/optimizations/${id}/decision`, { method: 'POST', json: { approve: true } })).status).toBe(202);
    const result = await sys.deps.temporal!.workflow.getHandle(id).result();
    expect(result.status).toBe('applied');
    const applied = (await sys.deps.db.query(`SELECT task, profile, model FROM model_assignments WHERE reason->>'run_id' = $1`, [id])).rows;
    expect(applied.length).toBe(run.decision.filter((d: { model: string | null }) => d.model).length);
    expect((await api(sys.url, `/api/admin/models/optimizations/${id}`)).json.status).toBe('applied');
    // Each step reached the channel as it was recorded: started, every candidate × task scored with
    // its quality, decided (awaiting approval), finished (applied).
    const steps = () => live.messages.filter((m) => m.run_id === id);
    await until(() => steps().some((m) => m.step === 'finished'), 30_000, 'the finished event');
    live.ws.close();
    const seen = steps();
    for (const m of seen) expect(m).toMatchObject({ type: 'optimization', workspace_id: '*' });
    expect(seen.map((m) => m.id)).toEqual([...new Set(seen.map((m) => m.id))]);
    expect(seen.filter((m) => m.step === 'started').map((m) => m.status)).toContain('running');
    const scored = new Map(seen.filter((m) => m.step === 'scored').map((m) => [`${m.task}|${m.model}`, m.quality]));
    expect(new Map(run.scores.map((x: { task: string; model: string; quality: number }) => [`${x.task}|${x.model}`, x.quality]))).toEqual(scored);
    expect(seen.filter((m) => m.step === 'decided').map((m) => m.status)).toContain('awaiting_approval');
    expect(seen.filter((m) => m.step === 'finished').map((m) => m.status)).toEqual(['applied']);
    const order = ['started', 'scored', 'decided', 'finished'];
    const firstOf = (step: string) => seen.findIndex((m) => m.step === step);
    expect(order.map(firstOf)).toEqual([...order.map(firstOf)].sort((a, b) => a - b));
  });

  it('creates the optimisation schedule once, however often the system starts', async () => {
    const OPTIMIZE_SCHEDULE_ID = optimizeScheduleId(sys.deps.env);
    const client = sys.deps.temporal!;
    await ensureOptimizationSchedule(client, sys.deps.env);
    expect(await ensureOptimizationSchedule(client, sys.deps.env)).toBe('updated');
    const ids: string[] = [];
    for await (const s of client.schedule.list()) ids.push(s.scheduleId);
    expect(ids.filter((x) => x === OPTIMIZE_SCHEDULE_ID)).toHaveLength(1);
    const desc = await client.schedule.getHandle(OPTIMIZE_SCHEDULE_ID).describe();
    expect(desc.action.type === 'startWorkflow' && desc.action.workflowType).toBe('optimizeModels');
  });
});
