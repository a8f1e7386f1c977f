import { WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { stringify } from 'csv-stringify/sync';
import { Router, type Request, type Response } from 'express';
import type Redis from 'ioredis';
import { z } from 'zod';
import { cacheKeyFor, type AnswerResponse } from '../activities/query';
import { taskQueues } from '../config';
import { PROFILES, newId } from '../domain';
import { MODES } from '../domain/query-plan';
import { queryStreamKey } from '../domain/query-stream';
import { transaction } from '../adapters';
import type { Deps } from '../deps';
import { createRetriever } from '../retrieval/retrieve';
import { ApiError } from './errors';
import { workspaceOf } from './documents';
import { liveProgress } from './workflow-state';
import { isoInstant, parse } from './validate';

/** The authenticated user of a request. */
export function userOf(req: Request): string {
  if (!req.user) throw new Error('userOf called on an unauthenticated request');
  return req.user.userId;
}

/** Whose queries a request may see: its own, or everyone's in the workspace (null) for an administrator. */
const historyOwner = (req: Request): string | null => (req.user?.role === 'admin' ? null : userOf(req));

const isoDay = isoInstant;

/** A stored answer's parts that can carry what its documents say. */
interface StoredAnswer {
  user_id?: string;
  answer?: string | null;
  citations?: { document_id?: string }[] | null;
  retrieved?: { document_id?: string }[] | null;
  response?: Record<string, unknown> | null;
}

/**
 * What a reader may see of stored answers (history, a query, batch results): their own in full; of
 * another user's, never what that user's private documents said. An answer that cites or drew on a
 * document private to someone else is withheld with its citations and sources; linked entities and
 * graph paths of other users' answers are always left out (they may name private entities).
 */
async function redactFor<T extends StoredAnswer>(deps: Deps, reader: string, rows: T[]): Promise<(T & { withheld: boolean })[]> {
  const docsOf = (r: T) => [...(r.citations ?? (r.response?.citations as StoredAnswer['citations']) ?? []), ...(r.retrieved ?? (r.response?.retrieved as StoredAnswer['retrieved']) ?? [])].map((c) => c.document_id).filter((d): d is string => !!d);
  const ids = [...new Set(rows.filter((r) => r.user_id !== reader).flatMap(docsOf))];
  const hidden = new Set(
    ids.length
      ? (await deps.db.query(`SELECT id FROM documents WHERE id = ANY($1) AND visibility = 'private' AND owner_id IS DISTINCT FROM $2::uuid`, [ids, reader])).rows.map((r) => r.id as string)
      : [],
  );
  return rows.map((r) => {
    if (r.user_id === reader) return { ...r, withheld: false };
    const withheld = docsOf(r).some((d) => hidden.has(d));
    const out: T & { withheld: boolean } = { ...r, withheld };
    if (r.response) {
      const { entities: _e, graph_paths: _g, ...rest } = r.response;
      out.response = withheld ? { ...rest, answer: null, citations: [], retrieved: [], withheld: true } : rest;
    }
    if (withheld) {
      if ('answer' in r) out.answer = null;
      if ('citations' in r) out.citations = [];
      if ('retrieved' in r) out.retrieved = [];
    }
    return out;
  });
}

export const FiltersSchema = z
  .object({
    document_ids: z.array(z.string().min(1).max(100)).max(1000).optional(),
    types: z.array(z.string().min(1).max(60)).max(20).optional(),
    categories: z.array(z.string().min(1).max(60)).max(20).optional(),
    sources: z.array(z.string().min(1).max(200)).max(20).optional(),
    date_from: isoDay.optional(),
    date_to: isoDay.optional(),
  })
  .strict()
  .refine((f) => !f.date_from || !f.date_to || f.date_from.slice(0, 10) <= f.date_to.slice(0, 10), { message: 'date_from must not be after date_to' });

const question = z.string().trim().min(1, 'the question is empty').max(2000);
const common = {
  mode: z.enum(MODES).default('hybrid'),
  top_k: z.number().int().min(1).max(50).default(8),
  filters: FiltersSchema.default({}),
};

export const RetrieveRequest = z.object({ question, ...common }).strict();
export const QueryRequest = z
  .object({
    question,
    profile: z.enum(PROFILES).optional(),
    /** true: server-sent events — stages at once, then the draft answer's tokens, then the final answer. */
    stream: z.boolean().default(false),
    ...common,
  })
  .strict();
export const BatchIdParam = z.object({ id: z.uuid() });
export const QueryIdParam = z.object({ id: z.string().regex(/^q_[\w-]{1,100}$/, 'not a query id') });
export const BatchQueryRequest = z
  .object({
    questions: z.array(question).min(1).max(5000),
    profile: z.enum(PROFILES).optional(),
    window: z.number().int().min(1).max(16).default(2),
    /** false: retrieval only (ranked chunks per question, no model calls). */
    generate: z.boolean().default(true),
    ...common,
  })
  .strict();

export const HistoryQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20), offset: z.coerce.number().int().min(0).max(1_000_000).default(0) });
export const BatchResultsQuery = HistoryQuery.extend({ format: z.enum(['json', 'jsonl', 'csv']).default('json'), limit: z.coerce.number().int().min(1).max(10_000).default(100) });

/** A server-sent event stream on `res`: named events with JSON data. */
function openEventStream(res: Response) {
  res.status(200);
  res.set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  return {
    send: (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    end: () => res.end(),
  };
}

/**
 * Streams a running answerQuery workflow: `accepted` at once, then each progress event the
 * activities append to the query's stream (`stage`, `token`, `reset`), then `answer` with the full
 * response (or `error` in the API's error shape). A client that leaves ends the stream, not the
 * question: it still completes and goes to the history.
 */
async function streamAnswer(deps: Deps, res: Response, queryId: string, handle: WorkflowHandle): Promise<void> {
  const sse = openEventStream(res);
  sse.send('accepted', { query_id: queryId, workflow_id: handle.workflowId, cached: false });
  const key = queryStreamKey(queryId);
  const reader: Redis = deps.redis.duplicate();
  let gone = false;
  // The response closing before it has finished: the client left.
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
  });
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown } | null = null;
  const finished = handle.result().then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  let last = '0';
  let progressLost = false;
  const forward = async (blockMs: number | null) => {
    const args: (string | number)[] = blockMs === null ? ['COUNT', 500, 'STREAMS', key, last] : ['COUNT', 500, 'BLOCK', blockMs, 'STREAMS', key, last];
    const got = (await reader.xread(...(args as ['COUNT', number, 'STREAMS', string, string]))) as [string, [string, string[]][]][] | null;
    for (const [id, fields] of got?.[0]?.[1] ?? []) {
      last = id;
      const event = JSON.parse(fields[1] ?? '{}') as { type: string };
      const { type, ...data } = event;
      sse.send(type, data);
    }
  };
  try {
    try {
      while (!outcome && !gone) await forward(250);
    } catch (err) {
      // Redis cannot be read: the progress events are lost, the answer is not.
      console.warn(`query ${queryId}: progress stream unavailable, waiting for the answer alone: ${(err as Error).message}`);
      progressLost = true;
    }
    await finished;
    if (gone) return;
    if (!progressLost) await forward(null); // what was appended after the last read
    const o = outcome as unknown as { ok: true; value: unknown } | { ok: false; error: unknown };
    if (o.ok) sse.send('answer', o.value);
    else {
      const err = o.error;
      const message = err instanceof WorkflowFailedError ? `the question could not be answered: ${err.cause?.message ?? err.message}` : (err as Error).message;
      sse.send('error', { error: { code: 'dependency_unavailable', message, details: { query_id: queryId, workflow_id: handle.workflowId } } });
    }
  } finally {
    reader.disconnect();
    sse.end();
  }
}

export function queryRouter(deps: Deps): Router {
  const router = Router();
  const retriever = createRetriever(deps);
  const queues = taskQueues(deps.env);

  /** Retrieval without generation: ranked chunks with their text, fused score and each mode's rank. */
  router.post('/retrieve', async (req, res) => {
    const body = parse(RetrieveRequest, req.body);
    const r = await retriever.retrieve({ workspaceId: workspaceOf(req), question: body.question, mode: body.mode, topK: body.top_k, filters: body.filters, readableBy: userOf(req) });
    res.json({ question: body.question, mode: body.mode, chunks: r.chunks, plan: r.plan, timings_ms: r.timings_ms });
  });

  router.post('/query', async (req, res) => {
    const body = parse(QueryRequest, req.body);
    const ws = workspaceOf(req);
    const profile = body.profile ?? deps.env.DEFAULT_QUERY_PROFILE;
    const queryId = `q_${newId()}`;
    const version = (await deps.redis.get(`neuronode:corpus-version:${ws}`)) ?? '0';
    const cacheKey = cacheKeyFor(ws, version, { question: body.question, profile, mode: body.mode, topK: body.top_k, filters: body.filters, readableBy: userOf(req) });
    const hit = await deps.redis.get(cacheKey);
    if (hit) {
      const cached = { ...(JSON.parse(hit) as AnswerResponse), query_id: queryId, cached: true };
      await deps.db.query(
        `INSERT INTO queries (id, workspace_id, user_id, question, request, response, status, answer, grounded, workflow_id, cached, duration_ms)
         VALUES ($1,$2,$3,$4,$5,$6,'completed',$7,$8,$9,true,0)`,
        [queryId, ws, userOf(req), body.question, JSON.stringify({ ...body, profile }), JSON.stringify(cached), cached.answer, cached.validation.grounded, cached.workflow_id],
      );
      if (body.stream) {
        const sse = openEventStream(res);
        sse.send('accepted', { query_id: queryId, workflow_id: cached.workflow_id, cached: true });
        sse.send('answer', cached);
        sse.end();
      } else res.json(cached);
      return;
    }
    const handle = await deps.temporal!.workflow.start('answerQuery', {
      taskQueue: queues.main,
      workflowId: `query-${queryId}`,
      args: [{ queryId, workspaceId: ws, userId: userOf(req), question: body.question, profile, mode: body.mode, topK: body.top_k, filters: body.filters, cacheKey, llmTaskQueue: queues.llm, readableBy: userOf(req), stream: body.stream }],
      workflowExecutionTimeout: '10m',
    });
    if (body.stream) {
      await streamAnswer(deps, res, queryId, handle);
      return;
    }
    try {
      res.json(await handle.result());
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new ApiError('dependency_unavailable', `the question could not be answered: ${err.cause?.message ?? err.message}`, { query_id: queryId, workflow_id: handle.workflowId });
      throw err;
    }
  });

  router.get('/query/history', async (req, res) => {
    const q = parse(HistoryQuery, req.query);
    const ws = workspaceOf(req);
    const user = historyOwner(req);
    // Own queries; an administrator sees the workspace's.
    const where = `workspace_id = $1 AND ($2::uuid IS NULL OR user_id = $2)`;
    const total = (await deps.db.query(`SELECT count(*)::int AS n FROM queries WHERE ${where}`, [ws, user])).rows[0].n as number;
    const rows = (
      await deps.db.query(
        `SELECT id, user_id, question, answer, grounded, status, cached, batch_id, duration_ms, created_at, request->>'mode' AS mode, request->>'profile' AS profile,
                coalesce(response->'citations', '[]'::jsonb) AS citations, coalesce(response->'retrieved', '[]'::jsonb) AS retrieved
         FROM queries WHERE ${where} ORDER BY created_at DESC, id LIMIT ${q.limit} OFFSET ${q.offset}`,
        [ws, user],
      )
    ).rows;
    const shown = (await redactFor(deps, userOf(req), rows)).map(({ citations: _c, retrieved: _r, ...row }) => row);
    res.json({ total, limit: q.limit, offset: q.offset, queries: shown });
  });

  router.post('/query/batch', async (req, res) => {
    const body = parse(BatchQueryRequest, req.body);
    const ws = workspaceOf(req);
    const batchId = newId();
    const workflowId = `query-batch-${batchId}`;
    const options = { profile: body.profile ?? deps.env.DEFAULT_QUERY_PROFILE, mode: body.mode, topK: body.top_k, filters: body.filters, generate: body.generate };
    await transaction(deps.db, async (client) => {
      await client.query(`INSERT INTO query_batches (id, workspace_id, user_id, workflow_id, total, options, status) VALUES ($1,$2,$3,$4,$5,$6,'running')`, [batchId, ws, userOf(req), workflowId, body.questions.length, JSON.stringify(options)]);
      await client.query(`INSERT INTO query_batch_items (batch_id, index, question) SELECT $1, i - 1, q FROM unnest($2::text[]) WITH ORDINALITY AS t(q, i)`, [batchId, body.questions]);
    });
    await deps.temporal!.workflow.start('batchQuery', {
      taskQueue: queues.main,
      workflowId,
      args: [{ batchId, workspaceId: ws, userId: userOf(req), readableBy: userOf(req), total: body.questions.length, options, llmTaskQueue: queues.llm, window: body.window }],
    });
    res.status(202).json({ batch_id: batchId, workflow_id: workflowId, total: body.questions.length });
  });

  const loadBatch = async (req: Request) => {
    const { id } = parse(BatchIdParam, req.params);
    const b = (await deps.db.query(`SELECT * FROM query_batches WHERE id = $1 AND workspace_id = $2 AND ($3::uuid IS NULL OR user_id = $3)`, [id, workspaceOf(req), historyOwner(req)])).rows[0];
    if (!b) throw new ApiError('not_found', `no query batch ${id}`);
    return b;
  };

  /** The caller's query batches, newest first (an administrator sees the workspace's). */
  router.get('/query/batches', async (req, res) => {
    const q = parse(HistoryQuery, req.query);
    const where = `workspace_id = $1 AND ($2::uuid IS NULL OR user_id = $2)`;
    const args = [workspaceOf(req), historyOwner(req)];
    const total = (await deps.db.query(`SELECT count(*)::int AS n FROM query_batches WHERE ${where}`, args)).rows[0].n as number;
    const rows = (
      await deps.db.query(
        `SELECT id AS batch_id, user_id, status, total, progress, options->>'profile' AS profile, coalesce((options->>'generate')::boolean, true) AS generate, created_at, finished_at
           FROM query_batches WHERE ${where} ORDER BY created_at DESC, id LIMIT ${q.limit} OFFSET ${q.offset}`,
        args,
      )
    ).rows;
    res.json({ total, limit: q.limit, offset: q.offset, batches: rows });
  });

  router.get('/query/batch/:id', async (req, res) => {
    const b = await loadBatch(req);
    let progress = b.progress;
    let status = b.status as string;
    const handle = deps.temporal!.workflow.getHandle(b.workflow_id);
    const desc = await handle.describe().catch((e: unknown) => (e instanceof WorkflowNotFoundError ? null : Promise.reject(e)));
    if (desc?.status.name === 'RUNNING') progress = (await liveProgress<typeof progress>(handle, 'batchQueryProgress')) ?? progress;
    else if (desc && status === 'running') status = desc.status.name.toLowerCase();
    const stored = (await deps.db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'completed')::int AS ok FROM queries WHERE batch_id = $1`, [b.id])).rows[0];
    res.json({ batch_id: b.id, workflow_id: b.workflow_id, status, total: b.total, progress, results: { stored: stored.n, completed: stored.ok }, created_at: b.created_at, finished_at: b.finished_at });
  });

  router.get('/query/batch/:id/results', async (req, res) => {
    const b = await loadBatch(req);
    const q = parse(BatchResultsQuery, req.query);
    const stored = (
      await deps.db.query(
        `SELECT i.index, i.question, r.id AS query_id, r.status, r.answer, r.grounded, r.error, r.duration_ms,
                coalesce(r.response->'citations', '[]'::jsonb) AS citations, r.response->'retrieved' AS retrieved
         FROM query_batch_items i LEFT JOIN queries r ON r.batch_id = i.batch_id AND r.batch_index = i.index
         WHERE i.batch_id = $1 ORDER BY i.index LIMIT ${q.limit} OFFSET ${q.offset}`,
        [b.id],
      )
    ).rows.map((r) => ({ ...r, user_id: b.user_id as string, status: r.status ?? 'pending' }));
    const rows = (await redactFor(deps, userOf(req), stored)).map(({ user_id: _u, ...row }) => row);
    if (q.format === 'jsonl') {
      res.attachment(`query-batch-${b.id}.jsonl`).type('application/x-ndjson').send(rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
    } else if (q.format === 'csv') {
      const csv = stringify(
        rows.map((r) => ({
          ...r,
          citations: (r.citations as { n: number; document_id: string; page: number | null }[]).map((c) => `[${c.n}] ${c.document_id}${c.page ? ` p.${c.page}` : ''}`).join('; '),
          retrieved: ((r.retrieved ?? []) as { chunk_id: string }[]).map((c) => c.chunk_id).join(' '),
        })),
        { header: true, columns: ['index', 'question', 'status', 'answer', 'grounded', 'citations', 'retrieved', 'error', 'duration_ms', 'query_id'] },
      );
      res.attachment(`query-batch-${b.id}.csv`).type('text/csv').send(csv);
    } else {
      res.json({ batch_id: b.id, total: b.total, limit: q.limit, offset: q.offset, results: rows });
    }
  });

  router.post('/query/batch/:id/cancel', async (req, res) => {
    const b = await loadBatch(req);
    if (b.status !== 'running') throw new ApiError('conflict', `the batch is already ${b.status}`);
    await deps.temporal!.workflow.getHandle(b.workflow_id).cancel();
    res.status(202).json({ batch_id: b.id, status: 'cancelling' });
  });

  router.get('/query/:id', async (req, res) => {
    const { id } = parse(QueryIdParam, req.params);
    const user = historyOwner(req);
    const r = (await deps.db.query(`SELECT * FROM queries WHERE id = $1 AND workspace_id = $2 AND ($3::uuid IS NULL OR user_id = $3)`, [id, workspaceOf(req), user])).rows[0];
    if (!r) throw new ApiError('not_found', `no query ${id}`);
    const [shown] = await redactFor(deps, userOf(req), [{ user_id: r.user_id as string, response: r.response as Record<string, unknown> | null }]);
    res.json({ query_id: r.id, question: r.question, status: r.status, request: r.request, response: shown!.response, withheld: shown!.withheld, error: r.error, batch_id: r.batch_id, batch_index: r.batch_index, cached: r.cached, duration_ms: r.duration_ms, created_at: r.created_at });
  });

  return router;
}
