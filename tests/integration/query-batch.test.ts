import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { parse as parseCsv } from 'csv-parse/sync';
import { freshUpload, waitForDocument } from '../helpers/documents';
import { multihopCorpus } from '../helpers/fixtures';
import { api, authHeaders, login, startSystem, type System } from '../helpers/system';
import { stopChild } from '../helpers/teardown';
import { createActivities } from '../../src/activities';
import { QUERY_EVENTS_STREAM } from '../../src/activities/query';
import { completedBy, scrape } from '../helpers/metrics';
import { startWorkerProcess, workerIdentity } from '../helpers/worker';

/**
 * Batch questions as a durable workflow: three worker processes share the task queues, and the
 * busiest, killed with SIGKILL mid-batch, loses and duplicates nothing; cancel stops the batch; results page and download as JSONL and CSV; progress
 * arrives on the WebSocket.
 */
describe('batch questions survive a killed worker, cancel cleanly and download', () => {
  let sys: System;
  /** The worker processes polling this file's task queues. */
  let workers: ChildProcess[] = [];
  const articles = multihopCorpus().slice(40, 42);
  const docIds: string[] = [];

  /** Fifty questions from the articles' own sentences. */
  const questions = articles
    .flatMap((a) => a.body.split(/(?<=[.!?])\s+/).filter((s) => s.split(' ').length >= 8).slice(0, 25))
    .map((s) => `What does the article report about ${s.split(' ').slice(0, 12).join(' ').replace(/[.?!,;:]+$/, '')}?`)
    .slice(0, 50);

  const batchState = async (id: string) => (await api(sys.url, `/api/query/batch/${id}`)).json;

  async function waitFor(id: string, pred: (b: any) => boolean, timeoutMs: number) { // eslint-disable-line @typescript-eslint/no-explicit-any
    const until = Date.now() + timeoutMs;
    for (;;) {
      const b = await batchState(id);
      if (pred(b)) return b;
      if (Date.now() > until) throw new Error(`batch ${id} never reached the expected state: ${JSON.stringify(b)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    sys = await startSystem({}, { worker: false });
    workers = [await startWorkerProcess()];
    for (const [i, a] of articles.entries()) docIds.push(await freshUpload(sys.url, `batch-source-${i}.txt`, Buffer.from(`${a.title}\n\n${a.body}`)));
    for (const id of docIds) expect((await waitForDocument(sys.url, id)).status).toBe('completed');
  }, 600_000);

  afterAll(async () => {
    for (const w of workers) await stopChild(w, 'SIGKILL');
    await sys?.stop();
  });

  it('answers a batch of 50 exactly once each on three workers, across a kill -9 of the busiest; the metrics name the work of each', async () => {
    expect(questions).toHaveLength(50);
    // Two more workers on the same task queues: three processes share the batch.
    workers.push(...(await Promise.all([startWorkerProcess(), startWorkerProcess()])));
    const ids = workers.map(workerIdentity);
    const base = await scrape(sys.url);
    const start = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions, generate: false, top_k: 5, window: 4 } });
    expect(start.status).toBe(202);
    const id = start.json.batch_id as string;
    const events: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    const ws = new WebSocket(`${sys.url.replace('http', 'ws')}/ws/queries/batch?batch_id=${id}&last_event_id=0-0`, { headers: authHeaders(sys.url) });
    ws.on('message', (m) => events.push(JSON.parse(m.toString())));

    const before = await waitFor(id, (b) => b.results.stored >= 8, 180_000);
    // The worker that has done the most so far is the one killed.
    const atKill = await scrape(sys.url);
    const done0 = ids.map((w) => completedBy(atKill, w) - completedBy(base, w));
    const victim = done0.indexOf(Math.max(...done0));
    expect(done0[victim]).toBeGreaterThan(0);
    const killed = workers[victim]!;
    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));
    workers = workers.filter((w) => w !== killed);
    const storedAtKill = (await sys.deps.db.query(`SELECT count(*)::int AS n FROM queries WHERE batch_id = $1`, [id])).rows[0].n as number;
    expect(storedAtKill).toBeLessThan(50);

    const done = await waitFor(id, (b) => b.status === 'completed', 600_000);
    expect(done.results).toEqual({ stored: 50, completed: 50 });
    const rows = (await sys.deps.db.query(`SELECT batch_index, status, response FROM queries WHERE batch_id = $1 ORDER BY batch_index`, [id])).rows;
    expect(rows.map((r) => r.batch_index)).toEqual([...Array(50).keys()]);
    expect(rows.every((r) => r.status === 'completed' && r.response.retrieved.length > 0)).toBe(true);
    // Retrieval found each question's own article in its top five for nearly all of them (other
    // tests' documents in the workspace share some of the same news text).
    const own = rows.filter((r) => r.response.retrieved.some((c: { document_id: string }) => docIds.includes(c.document_id))).length;
    expect(own).toBeGreaterThanOrEqual(45);
    expect(before.results.stored).toBeGreaterThanOrEqual(8);
    // Each survivor carried on with the work after the kill: the metrics name both.
    const after = await scrape(sys.url);
    const survivors = ids.filter((_, i) => i !== victim);
    expect(survivors.map((w) => [w, completedBy(after, w) - completedBy(atKill, w) > 0])).toEqual(survivors.map((w) => [w, true]));
    console.log(`activities completed per worker (killed: ${ids[victim]}): before the kill ${ids.map((w, i) => `${w}=${done0[i]}`).join(', ')}; after it ${survivors.map((w) => `${w}=+${completedBy(after, w) - completedBy(atKill, w)}`).join(', ')}`);

    const page = await api(sys.url, `/api/query/batch/${id}/results?limit=20&offset=40`);
    expect(page.json.results.map((r: { index: number }) => r.index)).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
    const jsonl = await api(sys.url, `/api/query/batch/${id}/results?format=jsonl&limit=1000`);
    expect(jsonl.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = jsonl.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(new Set(lines.map((l) => l.index)).size).toBe(50);
    const csv = await api(sys.url, `/api/query/batch/${id}/results?format=csv&limit=1000`);
    const table = parseCsv(csv.text, { columns: true }) as Record<string, string>[];
    expect(table).toHaveLength(50);
    expect(table[0]!.question).toBe(questions[0]);
    expect(table[0]!.retrieved!.split(' ').length).toBe(5);

    ws.close();
    const items = events.filter((e) => e.type === 'batch_item');
    expect(events[0].type).toBe('snapshot');
    // Every item's event arrived exactly once (resumed from the start of the stream).
    expect(new Set(items.map((e) => e.index)).size).toBe(items.length);
    expect(items.length).toBe(50);
    expect(events.some((e) => e.type === 'batch_progress' && e.status === 'completed')).toBe(true);
  }, 900_000);

  it("publishes a batch item's event exactly once when a retry finds the item already stored", async () => {
    // A worker killed between the item's insert and its event leaves this row and no event; the retry
    // must publish it. (The kill cannot be timed between two statements, so the first attempt's insert
    // is written here as it would have written it.)
    const acts = createActivities(sys.deps);
    const batchId = `crash-${Date.now().toString(36)}`;
    const ws = ((await api(sys.url, '/api/auth/me')).json as { workspace_id: string }).workspace_id;
    await sys.deps.db.query(
      `INSERT INTO queries (id, workspace_id, question, request, status, batch_id, batch_index, duration_ms) VALUES ($1, $2, 'Who?', '{}', 'completed', $3, 0, 5)`,
      [`q-${batchId}`, ws, batchId],
    );
    const retry = { queryId: `q-${batchId}-retry`, workspaceId: ws, userId: null, question: 'Who?', request: {}, response: null, status: 'failed' as const, batchId, batchIndex: 0, durationMs: 7 };
    expect(await acts.recordQuery(retry)).toEqual({ stored: false });
    expect(await acts.recordQuery(retry)).toEqual({ stored: false }); // and once more: still one event
    const recent = await sys.deps.redis.xrevrange(QUERY_EVENTS_STREAM, '+', '-', 'COUNT', 2000);
    const mine = recent.map(([, fields]) => JSON.parse(fields[1]!) as { batch_id: string; index: number; status: string }).filter((e) => e.batch_id === batchId);
    // The stored result's status, not the retry's.
    expect(mine.map((e) => [e.index, e.status])).toEqual([[0, 'completed']]);
  });

  it('cancels a running batch: nothing more is answered', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `${questions[i % questions.length]} (${i})`);
    const start = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions: many, generate: false, window: 1 } });
    const id = start.json.batch_id as string;
    await waitFor(id, (b) => b.results.stored >= 3, 120_000);
    const cancel = await api(sys.url, `/api/query/batch/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    await waitFor(id, (b) => b.status === 'cancelled', 60_000);
    const n1 = (await sys.deps.db.query(`SELECT count(*)::int AS n FROM queries WHERE batch_id = $1`, [id])).rows[0].n as number;
    await new Promise((r) => setTimeout(r, 3000));
    const n2 = (await sys.deps.db.query(`SELECT count(*)::int AS n FROM queries WHERE batch_id = $1`, [id])).rows[0].n as number;
    expect(n2).toBe(n1);
    expect(n2).toBeLessThan(40);
    expect((await api(sys.url, `/api/query/batch/${id}/cancel`, { method: 'POST' })).status).toBe(409);
  }, 300_000);

  it('answers with the model inside a batch too', async () => {
    const start = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions: [`What is the article "${articles[0]!.title}" about?`], top_k: 3 } });
    const id = start.json.batch_id as string;
    const done = await waitFor(id, (b) => b.status === 'completed', 300_000);
    expect(done.results.stored).toBe(1);
    const r = await api(sys.url, `/api/query/batch/${id}/results`);
    const item = r.json.results[0];
    expect(item.status).toBe('completed');
    expect(typeof item.answer).toBe('string');
    expect(item.answer.length).toBeGreaterThan(0);
    // The answer model was called for it, and the call is on record with its tokens.
    const stored = (await sys.deps.db.query(`SELECT response FROM queries WHERE batch_id = $1`, [id])).rows[0].response;
    expect(stored.stages.generation).toMatchObject({ alias: 'synthesis_local' });
    expect(stored.stages.generation.tokens).toBeGreaterThan(0);
    const calls = await sys.deps.db.query(`SELECT count(*)::int AS n FROM model_calls WHERE workflow_id = $1 AND alias = 'synthesis_local' AND ok`, [stored.workflow_id]);
    expect(calls.rows[0].n).toBe(1);
  }, 300_000);

  it("lists a user's own batches, newest first; an administrator sees the workspace's", async () => {
    const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const email = `batch-lister-${run}@example.com`;
    const password = `batch-${run}-Passw0rd!`;
    const created = await api(sys.url, '/api/admin/users', { method: 'POST', json: { email, password, role: 'power_user' } });
    expect(created.status).toBe(201);
    const me = await login(sys.url, { email, password });
    const start = async (question: string, token?: string) => {
      const r = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions: [question], generate: false, top_k: 3 }, ...(token ? { token } : {}) });
      expect(r.status).toBe(202);
      return r.json.batch_id as string;
    };
    const first = await start(`${questions[0]} (${run} a)`, me.access_token);
    const second = await start(`${questions[1]} (${run} b)`, me.access_token);
    const theirs = await start(`${questions[2]} (${run} c)`);
    for (const id of [first, second, theirs]) await waitFor(id, (b) => b.status === 'completed', 120_000);

    const own = await api(sys.url, '/api/query/batches?limit=10', { token: me.access_token });
    expect(own.status).toBe(200);
    expect(own.json.total).toBe(2);
    expect(own.json.batches.map((b: { batch_id: string }) => b.batch_id)).toEqual([second, first]);
    expect(own.json.batches[0]).toMatchObject({ user_id: me.user.id, status: 'completed', total: 1, generate: false, progress: { completed: 1, failed: 0 } });
    // The administrator sees the workspace's batches, theirs and the user's.
    const all = await api(sys.url, '/api/query/batches?limit=200');
    const ids = all.json.batches.map((b: { batch_id: string }) => b.batch_id);
    expect(ids).toEqual(expect.arrayContaining([first, second, theirs]));
    expect(ids.indexOf(theirs)).toBeLessThan(ids.indexOf(second));
    expect((await api(sys.url, '/api/query/batches?limit=0')).status).toBe(400);
  }, 300_000);

  it('refuses bad batches', async () => {
    for (const body of [{ questions: [] }, { questions: ['ok', ''] }, { questions: Array(5001).fill('q') }, { questions: 'one' }]) {
      const r = await api(sys.url, '/api/query/batch', { method: 'POST', json: body });
      expect(r.status).toBe(400);
    }
    expect((await api(sys.url, '/api/query/batch/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
