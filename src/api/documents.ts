import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { Router, type Request } from 'express';
import multer, { MulterError } from 'multer';
import { z } from 'zod';
import { FAST_PROFILE, documentIdFor } from '../activities';
import { taskQueues } from '../config';
import { PROFILES, makeDeleteWorkflowId, makeIngestWorkflowId } from '../domain';
import { FORMATS } from '../domain/formats';
import type { Deps } from '../deps';
import { ApiError } from './errors';
import { parse } from './validate';

export const INGEST_PROFILES = [FAST_PROFILE, ...PROFILES] as const;
const STATUSES = ['queued', 'processing', 'completed', 'failed', 'deleting', 'cancelled'] as const;

/** The workspace of a request; authentication (another module) sets it, the embedded default has one. */
export function workspaceOf(req: Request): string {
  return (req as Request & { workspaceId?: string }).workspaceId ?? 'default';
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
  };
}

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

const listQuery = z
  .object({
    type: z.string().max(40).optional(),
    format: z.enum(FORMATS).optional(),
    status: z.enum(STATUSES).optional(),
    category: z.string().max(60).optional(),
    from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
    to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
    q: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

const uploadFields = z.object({ profile: z.enum(INGEST_PROFILES).optional() }).strict();
const reprocessBody = z.object({ profile: z.enum(INGEST_PROFILES).optional() }).strict();
const idParam = z.object({ id: z.string().regex(/^doc_[a-f0-9]{24}$/, 'not a document id') });

const PUBLIC_COLUMNS = `id, workspace_id, filename, format, mime, client_mime, size_bytes, checksum, status, stage, title, language,
  doc_type, category, classification_confidence, metadata, counts, error, profile, parent_id, workflow_id, links, visibility, created_at, updated_at`;

export function documentsRouter(deps: Deps): Router {
  const router = Router();
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: deps.env.MAX_UPLOAD_BYTES, files: 50, fields: 10, parts: 60 },
  });

  router.post('/upload', (req, res, next) => {
    if (!req.is('multipart/form-data')) {
      return next(new ApiError('unsupported_media_type', 'send the files as multipart/form-data, one "files" part per file'));
    }
    upload.array('files', 50)(req, res, (err: unknown) => {
      if (err instanceof MulterError) {
        if (err.code === 'LIMIT_FILE_SIZE') {
          return next(new ApiError('payload_too_large', `a file is larger than the limit of ${deps.env.MAX_UPLOAD_BYTES} bytes; nothing was stored`, { field: err.field }));
        }
        return next(new ApiError('bad_request', `upload refused: ${err.message}`, { code: err.code, field: err.field }));
      }
      if (err) return next(err);
      next();
    });
  });
  router.post('/upload', async (req, res) => {
    const fields = parse(uploadFields, req.body ?? {});
    const files = (req.files as Express.Multer.File[] | undefined) ?? [];
    if (files.length === 0) throw new ApiError('bad_request', 'no files: send multipart/form-data with one or more "files" parts');
    const ws = workspaceOf(req);
    const profile = fields.profile ?? deps.env.DEFAULT_INGEST_PROFILE;
    const out = [];
    for (const f of files) {
      const checksum = createHash('sha256').update(f.buffer).digest('hex');
      const id = documentIdFor(ws, checksum);
      const filename = Buffer.from(f.originalname, 'latin1').toString('utf8').slice(0, 255);
      const inserted = await deps.db.query(
        `WITH d AS (
           INSERT INTO documents (id, workspace_id, checksum, filename, client_mime, size_bytes, status, profile)
           VALUES ($1,$2,$3,$4,$5,$6,'queued',$7) ON CONFLICT (workspace_id, checksum) DO NOTHING RETURNING id)
         INSERT INTO document_blobs (document_id, workspace_id, bytes) SELECT id, $2, $8 FROM d RETURNING document_id`,
        [id, ws, checksum, filename, f.mimetype, f.size, profile, f.buffer],
      );
      const duplicate = inserted.rowCount === 0;
      const existing = (await deps.db.query(`SELECT status, workflow_id FROM documents WHERE id = $1`, [id])).rows[0];
      let workflowId = existing?.workflow_id as string | null;
      // A new document, or one whose workflow never started (a crash between insert and start).
      if (!duplicate || !workflowId) workflowId = await startIngestion(deps, id, ws, profile);
      out.push({ document_id: id, workflow_id: workflowId, filename, size_bytes: f.size, checksum, duplicate, status: duplicate ? existing?.status : 'queued' });
    }
    res.status(202).json({ documents: out });
  });

  router.get('/', async (req, res) => {
    const q = parse(listQuery, req.query);
    const where = ['workspace_id = $1'];
    const params: unknown[] = [workspaceOf(req)];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replaceAll('?', `$${params.length}`));
    };
    if (q.type) add('doc_type = ?', q.type);
    if (q.format) add('format = ?', q.format);
    if (q.status) add('status = ?', q.status);
    if (q.category) add('category = ?', q.category);
    if (q.from) add('created_at >= ?', q.from);
    if (q.to) add('created_at <= ?', q.to);
    if (q.q) add('(title ILIKE ? OR filename ILIKE ?)', `%${q.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
    const total = await deps.db.query(`SELECT count(*)::int AS n FROM documents WHERE ${where.join(' AND ')}`, params);
    const rows = await deps.db.query(
      `SELECT ${PUBLIC_COLUMNS} FROM documents WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id LIMIT ${q.limit} OFFSET ${q.offset}`,
      params,
    );
    res.json({ total: total.rows[0].n, limit: q.limit, offset: q.offset, documents: rows.rows });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(idParam, req.params);
    const r = await deps.db.query(`SELECT ${PUBLIC_COLUMNS} FROM documents WHERE id = $1 AND workspace_id = $2`, [id, workspaceOf(req)]);
    const doc = r.rows[0];
    if (!doc) throw new ApiError('not_found', `no document ${id}`);
    let progress = null;
    if (doc.workflow_id && (doc.status === 'queued' || doc.status === 'processing')) {
      progress = await deps.temporal!.workflow.getHandle(doc.workflow_id).query('progress').catch(() => null);
    }
    res.json({ ...doc, progress });
  });

  router.delete('/:id', async (req, res) => {
    const { id } = parse(idParam, req.params);
    const r = await deps.db.query(`SELECT status, workflow_id FROM documents WHERE id = $1 AND workspace_id = $2`, [id, workspaceOf(req)]);
    if (!r.rows[0]) throw new ApiError('not_found', `no document ${id}`);
    // A running ingestion is cancelled first (it cleans up what it wrote), then the deletion runs.
    if (r.rows[0].status === 'processing' || r.rows[0].status === 'queued') {
      await deps.temporal!.workflow.getHandle(r.rows[0].workflow_id).cancel().catch((e: unknown) => {
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      });
      await deps.temporal!.workflow.getHandle(r.rows[0].workflow_id).result().catch(() => undefined);
    }
    const workflowId = makeDeleteWorkflowId(id);
    const handle = await deps.temporal!.workflow.start('deleteDocument', {
      taskQueue: taskQueues(deps.env).main,
      workflowId,
      args: [{ documentId: id }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    if (req.query.wait === 'true') {
      const result = await handle.result();
      res.json({ document_id: id, workflow_id: workflowId, ...(result as object) });
      return;
    }
    res.status(202).json({ document_id: id, workflow_id: workflowId, status: 'deleting' });
  });

  router.post('/:id/reprocess', async (req, res) => {
    const { id } = parse(idParam, req.params);
    const body = parse(reprocessBody, req.body ?? {});
    const r = await deps.db.query(`SELECT status, profile FROM documents WHERE id = $1 AND workspace_id = $2`, [id, workspaceOf(req)]);
    const doc = r.rows[0];
    if (!doc) throw new ApiError('not_found', `no document ${id}`);
    if (doc.status === 'processing' || doc.status === 'queued' || doc.status === 'deleting') {
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
