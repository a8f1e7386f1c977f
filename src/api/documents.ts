import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { Router, type Request, type RequestHandler } from 'express';
import multer, { MulterError } from 'multer';
import { z } from 'zod';
import { FAST_PROFILE, documentIdFor } from '../activities';
import { graphScope } from '../domain/graph-scope';
import { SqlFilter } from '../adapters';
import { taskQueues } from '../config';
import { PROFILES, makeBatchWorkflowId, makeDeleteWorkflowId, makeIngestWorkflowId, newId } from '../domain';
import { FORMATS } from '../domain/formats';
import type { Deps } from '../deps';
import { BadDocumentError } from '../extraction/types';
import { InflationBudget, readZip } from '../extraction/zip';
import { ApiError } from './errors';
import { isoInstant, parse } from './validate';
import { closedResult, liveProgress } from './workflow-state';

export const INGEST_PROFILES = [FAST_PROFILE, ...PROFILES] as const;
const STATUSES = ['queued', 'processing', 'completed', 'failed', 'deleting', 'cancelled', 'awaiting_approval', 'rejected'] as const;

/** The workspace of an authenticated request (from its token, or X-Workspace-Id where the user is a member). */
export function workspaceOf(req: Request): string {
  if (!req.user) throw new Error('workspaceOf called on an unauthenticated request');
  return req.user.workspaceId;
}

/** SQL that keeps only documents the request's user may read: the workspace's shared ones and their own. */
export function readableSql(param: string): string {
  return `(visibility = 'organisation' OR owner_id = ${param}::uuid)`;
}

/** Owners and workspace administrators may change a document; others may only read shared ones. */
function assertMayChange(req: Request, doc: { owner_id: string | null }, id: string): void {
  const p = req.user!;
  if (p.role !== 'admin' && doc.owner_id !== p.userId) throw new ApiError('forbidden', `only the owner of ${id} or an administrator may change it`);
}

export function ingestInput(deps: Deps, documentId: string, workspaceId: string, profile: string, reprocess = false) {
  return {
    documentId,
    workspaceId,
    profile: profile as (typeof INGEST_PROFILES)[number],
    llmTaskQueue: taskQueues(deps.env).llm,
    chunkTokens: deps.env.CHUNK_TOKENS,
    overlapTokens: deps.env.CHUNK_OVERLAP_TOKENS,
    reprocess,
    budget: budgetTiming(deps),
  };
}

/** The budget gate's timing for the workflows this process starts. */
const budgetTiming = (deps: Deps) => ({ approvalTimeoutMs: Math.round(deps.env.BUDGET_APPROVAL_TIMEOUT_HOURS * 3_600_000), recheckMs: deps.env.BUDGET_RECHECK_MS });

/** Starts (or joins) the one ingestion workflow of a document. */
export async function startIngestion(deps: Deps, documentId: string, workspaceId: string, profile: string, reprocess = false): Promise<string> {
  const workflowId = makeIngestWorkflowId(documentId);
  await deps.temporal!.workflow.start('ingestDocument', {
    taskQueue: taskQueues(deps.env).main,
    workflowId,
    args: [ingestInput(deps, documentId, workspaceId, profile, reprocess)],
    // Called only for a newly stored document (or one whose start was lost): joins a running
    // workflow of the same id rather than starting a second; a closed one (a document deleted and
    // uploaded again) gets a new run.
    workflowIdConflictPolicy: reprocess ? WorkflowIdConflictPolicy.FAIL : WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    searchAttributes: { DocumentId: [documentId], WorkspaceId: [workspaceId], Stage: ['queued'], IngestStatus: ['queued'] },
  });
  await deps.db.query(`UPDATE documents SET workflow_id = $2 WHERE id = $1`, [documentId, workflowId]);
  return workflowId;
}

export const DocumentListQuery = z
  .object({
    type: z.string().max(40).optional(),
    format: z.enum(FORMATS).optional(),
    status: z.enum(STATUSES).optional(),
    category: z.string().max(60).optional(),
    from: isoInstant.optional(),
    to: isoInstant.optional(),
    q: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export const VISIBILITIES = ['organisation', 'private'] as const;
const visibility = z.enum(VISIBILITIES).default('organisation');
export const UploadFields = z.object({ profile: z.enum(INGEST_PROFILES).optional(), visibility }).strict();
export const BatchUploadFields = z.object({ profile: z.enum(INGEST_PROFILES).optional(), window: z.coerce.number().int().min(1).max(32).optional(), visibility }).strict();
export const ReprocessRequest = z.object({ profile: z.enum(INGEST_PROFILES).optional() }).strict();
export const DeleteQuery = z.object({ wait: z.enum(['true', 'false']).optional() }).strict();
export const BatchIdParam = z.object({ batchId: z.uuid() });
export const DocumentIdParam = z.object({ id: z.string().regex(/^doc_[a-f0-9]{24}$/, 'not a document id') });
export const ChunkIdParam = z.object({ id: z.string().regex(/^chk_[a-f0-9]{24}$/, 'not a chunk id') });
export const DocumentChunksQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(200).default(50), offset: z.coerce.number().int().min(0).max(1_000_000).default(0) })
  .strict();
export const ChunkQuery = z.object({ neighbours: z.coerce.number().int().min(0).max(5).default(1) }).strict();

/** Formats a browser may be handed under their own type; everything else is a download of bytes. */
const SERVED_AS_IS = new Set(['application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'image/png', 'image/jpeg']);

const PUBLIC_COLUMNS = `id, workspace_id, filename, format, mime, client_mime, size_bytes, checksum, status, stage, title, language,
  doc_type, category, classification_confidence, metadata, counts, error, profile, parent_id, workflow_id, links, visibility, owner_id, budget, created_at, updated_at`;

/** States in which a document's ingestion workflow is still running. */
const IN_FLIGHT = new Set(['queued', 'processing', 'awaiting_approval']);

/** Stores one file's bytes and record (idempotent by workspace, scope and checksum); starts nothing. */
export async function storeFile(deps: Deps, ws: string, originalName: string, clientMime: string, bytes: Buffer, profile: string, owner: string | null = null, vis: (typeof VISIBILITIES)[number] = 'organisation') {
  const checksum = createHash('sha256').update(bytes).digest('hex');
  // One document per bytes and scope: another user's private copy is neither found nor revealed.
  const id = documentIdFor(graphScope({ workspace_id: ws, visibility: vis, owner_id: owner }).key, checksum);
  // multer hands over the raw header bytes as latin1; names are UTF-8 on the wire.
  const filename = Buffer.from(originalName, 'latin1').toString('utf8').replace(/\u0000/g, '').slice(0, 255);
  const inserted = await deps.db.query(
    `WITH d AS (
       INSERT INTO documents (id, workspace_id, checksum, filename, client_mime, size_bytes, status, profile, owner_id, visibility)
       VALUES ($1,$2,$3,$4,$5,$6,'queued',$7,$9,$10) ON CONFLICT (workspace_id, dedupe_scope, checksum) DO NOTHING RETURNING id)
     INSERT INTO document_blobs (document_id, workspace_id, bytes) SELECT id, $2, $8 FROM d RETURNING document_id`,
    [id, ws, checksum, filename, clientMime, bytes.length, profile, bytes, owner, vis],
  );
  const duplicate = inserted.rowCount === 0;
  const existing = (await deps.db.query(`SELECT status, workflow_id FROM documents WHERE id = $1`, [id])).rows[0];
  return {
    document_id: id,
    workflow_id: (existing?.workflow_id as string | null) ?? null,
    filename,
    size_bytes: bytes.length,
    checksum,
    duplicate,
    status: duplicate ? (existing?.status as string) : 'queued',
  };
}

/**
 * Files of an uploaded ZIP, inflated within the request's budget (bytes actually inflated, never the
 * sizes the archive declares) and the per-file limit; folders and hidden files are skipped.
 */
async function unpackZip(bytes: Buffer, maxFileBytes: number, budget: InflationBudget): Promise<{ name: string; bytes: Buffer }[]> {
  let files: Map<string, Buffer>;
  try {
    files = await readZip(bytes, budget, {
      keep: (name) => {
        const base = name.split('/').pop() ?? '';
        return !!base && !base.startsWith('.') && !name.startsWith('__MACOSX/');
      },
      maxEntryBytes: maxFileBytes,
    });
  } catch (err) {
    if (err instanceof BadDocumentError) throw new ApiError('bad_request', `${err.message}; nothing was stored`, { type: err.type });
    throw err;
  }
  return [...files].map(([name, data]) => ({ name: name.split('/').pop()!, bytes: data }));
}

/**
 * Multipart reception with the one error mapping: not multipart → 415; a file over the size limit, or
 * the whole request over its own limit (counted as it arrives, whatever Content-Length says) → 413.
 */
function receiveFiles(upload: multer.Multer, maxBytes: number, maxRequestBytes: number, hint: string): RequestHandler {
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) return next(new ApiError('unsupported_media_type', hint));
    const tooLarge = () => new ApiError('payload_too_large', `the request is larger than the limit of ${maxRequestBytes} bytes; nothing was stored`);
    if (Number(req.headers['content-length'] ?? 0) > maxRequestBytes) {
      // Refused before anything is read; the body is drained and dropped so the client gets the answer.
      req.resume();
      return next(tooLarge());
    }
    let received = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!over && received > maxRequestBytes) {
        over = true;
        req.unpipe();
        req.destroy();
      }
    });
    upload.array('files', 50)(req, res, (err: unknown) => {
      if (over) return next(tooLarge());
      if (err instanceof MulterError) {
        return next(
          err.code === 'LIMIT_FILE_SIZE'
            ? new ApiError('payload_too_large', `a file is larger than the limit of ${maxBytes} bytes; nothing was stored`, { field: err.field })
            : new ApiError('bad_request', `upload refused: ${err.message}`, { code: err.code, field: err.field }),
        );
      }
      next(err);
    });
  };
}

/** A chunk by id, with its document's title and the chunks around it: what a citation points at. */
export function chunksRouter(deps: Deps): Router {
  const router = Router();
  router.get('/:id', async (req, res) => {
    const { id } = parse(ChunkIdParam, req.params);
    const { neighbours } = parse(ChunkQuery, req.query);
    const r = await deps.db.query(
      `SELECT c.id, c.document_id, c.position, c.page, c.section, c.content, d.title, d.filename, d.format
         FROM chunks c JOIN documents d ON d.id = c.document_id
        WHERE c.id = $1 AND d.workspace_id = $2 AND ${readableSql('$3')}`,
      [id, workspaceOf(req), req.user!.userId],
    );
    const c = r.rows[0];
    if (!c) throw new ApiError('not_found', `no chunk ${id}`);
    const around = (
      await deps.db.query(`SELECT id, position, page, content FROM chunks WHERE document_id = $1 AND position BETWEEN $2 AND $3 AND id <> $4 ORDER BY position`, [
        c.document_id,
        c.position - neighbours,
        c.position + neighbours,
        c.id,
      ])
    ).rows.map((x) => ({ chunk_id: x.id, position: x.position, page: x.page, text: x.content }));
    res.json({
      chunk_id: c.id,
      document_id: c.document_id,
      title: c.title ?? c.filename,
      filename: c.filename,
      format: c.format,
      position: c.position,
      page: c.page,
      section: c.section,
      text: c.content,
      before: around.filter((x) => x.position < c.position),
      after: around.filter((x) => x.position > c.position),
    });
  });
  return router;
}

export function documentsRouter(deps: Deps): Router {
  const router = Router();
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: deps.env.MAX_UPLOAD_BYTES, files: 50, fields: 10, parts: 60 },
  });

  router.post('/upload', receiveFiles(upload, deps.env.MAX_UPLOAD_BYTES, deps.env.MAX_REQUEST_BYTES, 'send the files as multipart/form-data, one "files" part per file'));
  router.post('/upload', async (req, res) => {
    const fields = parse(UploadFields, req.body ?? {});
    const files = (req.files as Express.Multer.File[] | undefined) ?? [];
    if (files.length === 0) throw new ApiError('bad_request', 'no files: send multipart/form-data with one or more "files" parts');
    const ws = workspaceOf(req);
    const profile = fields.profile ?? deps.env.DEFAULT_INGEST_PROFILE;
    const out = [];
    for (const f of files) {
      const stored = await storeFile(deps, ws, f.originalname, f.mimetype, f.buffer, profile, req.user!.userId, fields.visibility);
      let workflowId = stored.workflow_id;
      // A new document, or one whose workflow never started (a crash between insert and start).
      if (!stored.duplicate || !workflowId) workflowId = await startIngestion(deps, stored.document_id, ws, profile);
      out.push({ ...stored, workflow_id: workflowId });
    }
    res.status(202).json({ documents: out });
  });

  router.post('/batch', receiveFiles(upload, deps.env.MAX_UPLOAD_BYTES, deps.env.MAX_REQUEST_BYTES, 'send the files (or ZIP archives of files) as multipart/form-data "files" parts'));
  router.post('/batch', async (req, res) => {
    const fields = parse(BatchUploadFields, req.body ?? {});
    const files = (req.files as Express.Multer.File[] | undefined) ?? [];
    if (files.length === 0) throw new ApiError('bad_request', 'no files: send multipart/form-data with one or more "files" parts');
    const ws = workspaceOf(req);
    const profile = fields.profile ?? deps.env.DEFAULT_INGEST_PROFILE;
    // ZIP archives (that are not Office documents) are unpacked; every file is validated before any is stored.
    const items: { name: string; mime: string; bytes: Buffer }[] = [];
    // Every archive of the request inflates from one budget.
    const inflation = new InflationBudget(deps.env.MAX_REQUEST_INFLATED_BYTES, 'the archives of this request');
    for (const f of files) {
      const isZip = f.buffer[0] === 0x50 && f.buffer[1] === 0x4b && /\.zip$/i.test(f.originalname);
      if (isZip) for (const e of await unpackZip(f.buffer, deps.env.MAX_UPLOAD_BYTES, inflation)) items.push({ name: e.name, mime: 'application/octet-stream', bytes: e.bytes });
      else items.push({ name: f.originalname, mime: f.mimetype, bytes: f.buffer });
    }
    if (items.length > 10_000) throw new ApiError('payload_too_large', `a batch holds at most 10000 files, not ${items.length}`);
    const stored = [];
    for (const it of items) stored.push(await storeFile(deps, ws, it.name, it.mime, it.bytes, profile, req.user!.userId, fields.visibility));
    // New documents, and any stored earlier whose ingestion never started.
    const fresh = [...new Set(stored.filter((d) => !d.duplicate || (!d.workflow_id && d.status === 'queued')).map((d) => d.document_id))];
    const batchId = newId();
    const workflowId = makeBatchWorkflowId(batchId);
    await deps.temporal!.workflow.start('ingestBatch', {
      taskQueue: taskQueues(deps.env).main,
      workflowId,
      args: [{ batchId, workspaceId: ws, profile, llmTaskQueue: taskQueues(deps.env).llm, documentIds: fresh, window: fields.window, chunkTokens: deps.env.CHUNK_TOKENS, overlapTokens: deps.env.CHUNK_OVERLAP_TOKENS, budget: budgetTiming(deps) }],
    });
    await deps.db.query(`UPDATE documents SET workflow_id = 'ingest-' || id, batch_id = $2 WHERE id = ANY($1)`, [fresh, batchId]);
    res.status(202).json({ batch_id: batchId, workflow_id: workflowId, total: fresh.length, duplicates: stored.length - fresh.length, documents: stored });
  });

  router.get('/batch/:batchId', async (req, res) => {
    const { batchId } = parse(BatchIdParam, req.params);
    // A batch is the caller's to see when its documents are: in their workspace, and readable by them.
    const mine = await deps.db.query(`SELECT 1 FROM documents WHERE batch_id = $1 AND workspace_id = $2 AND ${readableSql('$3')} LIMIT 1`, [batchId, workspaceOf(req), req.user!.userId]);
    if (!mine.rowCount) throw new ApiError('not_found', `no batch ${batchId}`);
    const handle = deps.temporal!.workflow.getHandle(makeBatchWorkflowId(batchId));
    const desc = await handle.describe().catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) throw new ApiError('not_found', `no batch ${batchId}`);
      throw e;
    });
    const progress = desc.status.name === 'RUNNING' ? await handle.query('batchProgress') : await closedResult(handle);
    res.json({ batch_id: batchId, status: desc.status.name.toLowerCase(), progress });
  });

  router.get('/', async (req, res) => {
    const q = parse(DocumentListQuery, req.query);
    const f = new SqlFilter(['workspace_id = $1', readableSql('$2')], [workspaceOf(req), req.user!.userId]);
    if (q.type) f.add('doc_type = ?', q.type);
    if (q.format) f.add('format = ?', q.format);
    if (q.status) f.add('status = ?', q.status);
    if (q.category) f.add('category = ?', q.category);
    if (q.from) f.add('created_at >= ?', q.from);
    if (q.to) f.add('created_at <= ?', q.to);
    if (q.q) f.add('(title ILIKE ? OR filename ILIKE ?)', `%${q.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
    const total = await deps.db.query(`SELECT count(*)::int AS n FROM documents WHERE ${f.sql}`, f.params);
    const rows = await deps.db.query(`SELECT ${PUBLIC_COLUMNS} FROM documents WHERE ${f.sql} ORDER BY created_at DESC, id LIMIT ${q.limit} OFFSET ${q.offset}`, f.params);
    res.json({ total: total.rows[0].n, limit: q.limit, offset: q.offset, documents: rows.rows });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(DocumentIdParam, req.params);
    const r = await deps.db.query(`SELECT ${PUBLIC_COLUMNS} FROM documents WHERE id = $1 AND workspace_id = $2 AND ${readableSql('$3')}`, [id, workspaceOf(req), req.user!.userId]);
    const doc = r.rows[0];
    if (!doc) throw new ApiError('not_found', `no document ${id}`);
    let progress = null;
    if (doc.workflow_id && IN_FLIGHT.has(doc.status)) {
      progress = await liveProgress(deps.temporal!.workflow.getHandle(doc.workflow_id), 'progress');
    }
    res.json({ ...doc, progress });
  });

  router.get('/:id/chunks', async (req, res) => {
    const { id } = parse(DocumentIdParam, req.params);
    const q = parse(DocumentChunksQuery, req.query);
    const doc = (await deps.db.query(`SELECT id FROM documents WHERE id = $1 AND workspace_id = $2 AND ${readableSql('$3')}`, [id, workspaceOf(req), req.user!.userId])).rows[0];
    if (!doc) throw new ApiError('not_found', `no document ${id}`);
    const total = (await deps.db.query(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [id])).rows[0].n as number;
    const rows = (await deps.db.query(`SELECT id, position, page, section, content FROM chunks WHERE document_id = $1 ORDER BY position LIMIT $2 OFFSET $3`, [id, q.limit, q.offset])).rows;
    res.json({ total, limit: q.limit, offset: q.offset, chunks: rows.map((r) => ({ chunk_id: r.id, position: r.position, page: r.page, section: r.section, text: r.content })) });
  });

  router.get('/:id/file', async (req, res) => {
    const { id } = parse(DocumentIdParam, req.params);
    const r = await deps.db.query(
      `SELECT d.filename, d.mime, b.bytes FROM documents d JOIN document_blobs b ON b.document_id = d.id WHERE d.id = $1 AND d.workspace_id = $2 AND ${readableSql('$3')}`,
      [id, workspaceOf(req), req.user!.userId],
    );
    const doc = r.rows[0];
    if (!doc) throw new ApiError('not_found', `no document ${id}`);
    // The uploader's bytes, never run by the browser: a download, its type only from a short list,
    // no sniffing, and a sandbox should it be opened anyway.
    res.attachment(doc.filename);
    res.type(SERVED_AS_IS.has(doc.mime) ? doc.mime : 'application/octet-stream');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
    res.send(doc.bytes);
  });

  router.delete('/:id', async (req, res) => {
    const { id } = parse(DocumentIdParam, req.params);
    const r = await deps.db.query(`SELECT status, workflow_id, owner_id FROM documents WHERE id = $1 AND workspace_id = $2 AND ${readableSql('$3')}`, [id, workspaceOf(req), req.user!.userId]);
    if (!r.rows[0]) throw new ApiError('not_found', `no document ${id}`);
    assertMayChange(req, r.rows[0], id);
    // A running ingestion is cancelled first (it cleans up what it wrote), then the deletion runs.
    if (IN_FLIGHT.has(r.rows[0].status)) {
      await deps.temporal!.workflow.getHandle(r.rows[0].workflow_id).cancel().catch((e: unknown) => {
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      });
      await closedResult(deps.temporal!.workflow.getHandle(r.rows[0].workflow_id)); // it ends cancelled: a failure by design
    }
    const workflowId = makeDeleteWorkflowId(id);
    const handle = await deps.temporal!.workflow.start('deleteDocument', {
      taskQueue: taskQueues(deps.env).main,
      workflowId,
      args: [{ documentId: id }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    if (parse(DeleteQuery, req.query).wait === 'true') {
      const result = await handle.result();
      res.json({ document_id: id, workflow_id: workflowId, ...(result as object) });
      return;
    }
    res.status(202).json({ document_id: id, workflow_id: workflowId, status: 'deleting' });
  });

  router.post('/:id/reprocess', async (req, res) => {
    const { id } = parse(DocumentIdParam, req.params);
    const body = parse(ReprocessRequest, req.body ?? {});
    const r = await deps.db.query(`SELECT status, profile, owner_id FROM documents WHERE id = $1 AND workspace_id = $2 AND ${readableSql('$3')}`, [id, workspaceOf(req), req.user!.userId]);
    const doc = r.rows[0];
    if (!doc) throw new ApiError('not_found', `no document ${id}`);
    assertMayChange(req, doc, id);
    if (IN_FLIGHT.has(doc.status) || doc.status === 'deleting') {
      throw new ApiError('conflict', `document ${id} is ${doc.status}; reprocess it when that has finished`);
    }
    const profile = body.profile ?? doc.profile;
    await deps.db.query(`UPDATE documents SET status = 'queued', stage = 'queued', error = NULL, profile = $2 WHERE id = $1`, [id, profile]);
    try {
      const workflowId = await startIngestion(deps, id, workspaceOf(req), profile, true);
      res.status(202).json({ document_id: id, workflow_id: workflowId, profile });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ApiError('conflict', `document ${id} is already being processed`);
      throw err;
    }
  });

  return router;
}
