import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { COLLECTIONS, transaction, vectorCollection } from '../adapters';
import { chunkSections, countTokens } from '../domain/chunking';
import {
  canonicalType,
  entityKey,
  resolveWithinDocument,
  type ExtractedEntity,
  type ExtractedRelation,
} from '../domain/entities';
import { extractFast } from '../domain/fast-extraction';
import { CLASSIFICATION_MAX_TOKENS, ClassificationSchema, EXTRACTION_MAX_TOKENS, ExtractionSchema, classificationMessages, extractionMessages } from '../domain/prompts';
import { UnsupportedFormatError, detectFormat, type Detected } from '../domain/formats';
import { stableId } from '../domain/ids';
import { escapeName, graphScope } from '../domain/graph-scope';
import { detectLanguage } from '../domain/language';
import { EMBEDDING_FOR, chatAlias, entityMergeSimilarity, isProfile, type Profile } from '../domain/model-aliases';
import { ExtractionLimitError, extractInSandbox } from '../extraction/sandbox';
import { BadDocumentError, type Section } from '../extraction/types';
import { zipEntryNames } from '../extraction/zip';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { Deps } from '../deps';

/** The profile that calls no LLM at all (deterministic NLP); every other profile names LLM aliases. */
export const FAST_PROFILE = 'nlp';
export type IngestProfile = Profile | typeof FAST_PROFILE;

/** The Redis stream of document events (bounded; the WebSocket layer tails it). */
export const EVENTS_STREAM = 'neuronode:events:documents';
/** Events kept for clients that reconnect: roughly the last hours of a busy system. */
export const EVENTS_KEPT = 20_000;
export const EVENTS_CHANNEL = EVENTS_STREAM;
/** The Redis stream of graph changes: what each document added to or removed from the graph. */
export const GRAPH_EVENTS_STREAM = 'neuronode:events:graph';

/** Appends a graph change, with the document's visibility so private changes reach only the owner. */
export async function publishGraphEvent(redis: Redis, db: Pool, e: Record<string, unknown> & { document_id: string; workspace_id: string }): Promise<void> {
  const doc = (await db.query(`SELECT owner_id, visibility FROM documents WHERE id = $1`, [e.document_id])).rows[0];
  await redis.xadd(GRAPH_EVENTS_STREAM, 'MAXLEN', '~', EVENTS_KEPT, '*', 'event', JSON.stringify({ ...e, owner_id: doc?.owner_id ?? null, visibility: doc?.visibility ?? 'organisation', at: new Date().toISOString() }));
}


export interface StageEvent {
  document_id: string;
  workspace_id: string;
  stage: string;
  status: 'started' | 'completed' | 'failed' | 'waiting';
  detail?: Record<string, unknown>;
}

const badInput = (err: unknown): never => {
  if (err instanceof BadDocumentError || err instanceof UnsupportedFormatError || err instanceof ExtractionLimitError) {
    throw ApplicationFailure.nonRetryable(err.message, err.type);
  }
  throw err;
};

/**
 * Updates the document's row and announces the change on its channel, tagged from the same row
 * (its workspace, owner and visibility, so a private document's events reach only its owner): one
 * round trip. `set` is the SET list after `$1` = the document id; nothing is announced for a
 * document that no longer exists.
 */
export async function updateAndAnnounce(redis: Redis, db: Pool, documentId: string, set: string, params: unknown[], e: Omit<StageEvent, 'document_id' | 'workspace_id'>): Promise<void> {
  const r = await db.query(`UPDATE documents SET ${set}, updated_at = now() WHERE id = $1 RETURNING workspace_id, owner_id, visibility`, [documentId, ...params]);
  const d = r.rows[0];
  if (!d) return;
  await redis.xadd(EVENTS_STREAM, 'MAXLEN', '~', EVENTS_KEPT, '*', 'event', JSON.stringify({ ...e, document_id: documentId, workspace_id: d.workspace_id, owner_id: d.owner_id ?? null, visibility: d.visibility ?? 'organisation', at: new Date().toISOString() }));
}

export function createIngestActivities(deps: Deps) {
  const { db, redis, graph, chroma, llm, env } = deps;

  const setStage = (documentId: string, stage: string, status = 'processing') =>
    updateAndAnnounce(redis, db, documentId, `stage = $2, status = $3`, [stage, status], { stage, status: 'started' });

  type DocRow = { id: string; workspace_id: string; filename: string; format: string | null; encoding: string | null; title: string | null; doc_type: string | null; category: string | null; created_at: Date; language: string | null; metadata: Record<string, unknown> | null; visibility: string; owner_id: string | null };

  /** The document's record; the bytes (up to the upload limit) are read only by the stages that parse them. */
  const loadDoc = async (documentId: string): Promise<DocRow> => {
    const r = await db.query(`SELECT * FROM documents WHERE id = $1`, [documentId]);
    if (!r.rows[0]) throw ApplicationFailure.nonRetryable(`document ${documentId} does not exist`, 'DocumentMissing');
    return r.rows[0] as DocRow;
  };

  const loadDocWithBytes = async (documentId: string): Promise<DocRow & { bytes: Buffer }> => {
    const r = await db.query(`SELECT d.*, b.bytes FROM documents d JOIN document_blobs b ON b.document_id = d.id WHERE d.id = $1`, [documentId]);
    if (!r.rows[0]) throw ApplicationFailure.nonRetryable(`document ${documentId} does not exist`, 'DocumentMissing');
    return r.rows[0] as DocRow & { bytes: Buffer };
  };

  /** The document's chunks in order; `range` limits them to positions [from, to). */
  const loadChunks = async (documentId: string, range: { from: number; to: number } = { from: 0, to: 2 ** 31 - 1 }) =>
    (
      await db.query<{ id: string; position: number; content: string; language: string; page: number | null; section: string | null; tokens: number }>(
        `SELECT id, position, content, language, page, section, tokens FROM chunks
         WHERE document_id = $1 AND position >= $2 AND position < $3 ORDER BY position`,
        [documentId, range.from, range.to],
      )
    ).rows;

  /** Chunk and entity vectors of a document to Chroma, by the model its embedding aliases serve (upserts by deterministic ids). */
  const indexVectors = async (doc: DocRow, activity: string): Promise<{ chunkVectors: number; entityVectors: number; dimension: number }> => {
    const documentId = doc.id;
    const chunks = await loadChunks(documentId);
    const ctx = { workspaceId: doc.workspace_id, activity };
    let dimension = 0;
    const prefix = `${chunkContext(doc)}\n`;
    for (let i = 0; i < chunks.length; i += 64) {
      const part = chunks.slice(i, i + 64);
      const { vectors, model } = await llm.embed(EMBEDDING_FOR.chunks, part.map((c) => prefix + c.content), ctx);
      dimension = vectors[0]!.length;
      const col = await vectorCollection(chroma, COLLECTIONS.chunks, model, dimension);
      await col.upsert({
        ids: part.map((c) => c.id),
        embeddings: vectors,
        documents: part.map((c) => c.content),
        metadatas: part.map((c) => ({
          workspace_id: doc.workspace_id,
          document_id: documentId,
          chunk_position: c.position,
          document_type: doc.doc_type ?? 'other',
          language: c.language ?? 'und',
          ...(c.page ? { page: c.page } : {}),
        })),
      });
    }
    const ents = (await db.query(`SELECT entity_id, name, type, aliases, description, confidence FROM document_entities WHERE document_id = $1`, [documentId])).rows;
    const model = typeof doc.metadata?.extraction_model === 'string' ? doc.metadata.extraction_model : 'unknown';
    for (let i = 0; i < ents.length; i += 64) {
      const part = ents.slice(i, i + 64);
      const { vectors, model: embModel } = await llm.embed(EMBEDDING_FOR.entities, part.map((e) => e.name), ctx);
      const col = await vectorCollection(chroma, COLLECTIONS.entities, embModel, vectors[0]!.length);
      await col.upsert({
        ids: part.map((e) => e.entity_id),
        embeddings: vectors,
        documents: part.map((e) => [e.name, ...e.aliases.filter((a: string) => a !== e.name)].join(' | ') + (e.description ? ` — ${e.description}` : '')),
        metadatas: part.map((e) => ({ workspace_id: doc.workspace_id, scope: graphScope(doc).key, entity_type: e.type, confidence: e.confidence, extraction_model: model, name: e.name })),
      });
    }
    return { chunkVectors: chunks.length, entityVectors: ents.length, dimension };
  };

  return {
    /** Stage 2: the format from the bytes. */
    async detectDocumentFormat(documentId: string): Promise<Detected> {
      const doc = await loadDocWithBytes(documentId);
      await setStage(documentId, 'detect');
      let detected: Detected;
      try {
        const isZip = doc.bytes[0] === 0x50 && doc.bytes[1] === 0x4b;
        detected = detectFormat(doc.bytes, doc.filename, isZip ? await zipEntryNames(doc.bytes) : undefined);
      } catch (err) {
        return badInput(err);
      }
      await db.query(`UPDATE documents SET format = $2, mime = $3, encoding = $4 WHERE id = $1`, [documentId, detected.format, detected.mime, detected.encoding ?? null]);
      return detected;
    },

    /** Stage 3: text with structure; attachments of e-mails become child documents. */
    async extractDocumentContent(documentId: string, detected: Detected): Promise<{ sections: number; pages: number | null; links: number; attachments: { filename: string; checksum: string; documentId: string }[] }> {
      const doc = await loadDocWithBytes(documentId);
      await setStage(documentId, 'extract');
      let extracted;
      try {
        extracted = await extractInSandbox(doc.bytes, detected, doc.filename, { maxHeapMb: env.EXTRACT_MAX_HEAP_MB, timeoutMs: env.EXTRACT_TIMEOUT_MS });
      } catch (err) {
        return badInput(err);
      }
      const children: { filename: string; checksum: string; documentId: string }[] = [];
      // An e-mail's attachments become documents, but not without end: at most MAX_ATTACHMENTS of one
      // e-mail, and none below MAX_ATTACHMENT_DEPTH levels of e-mails attached to e-mails.
      const depth = extracted.attachments.length
        ? Number(
            (
              await db.query(
                `WITH RECURSIVE up AS (SELECT id, parent_id, 0 AS depth FROM documents WHERE id = $1
                   UNION ALL SELECT d.id, d.parent_id, up.depth + 1 FROM documents d JOIN up ON d.id = up.parent_id WHERE up.depth < 100)
                 SELECT max(depth) AS depth FROM up`,
                [documentId],
              )
            ).rows[0]?.depth ?? 0,
          )
        : 0;
      const accepted = depth >= MAX_ATTACHMENT_DEPTH ? [] : extracted.attachments.slice(0, MAX_ATTACHMENTS);
      const skipped = extracted.attachments.length - accepted.length;
      if (skipped) {
        extracted.metadata.attachments_skipped = { count: skipped, reason: depth >= MAX_ATTACHMENT_DEPTH ? `attached ${depth} levels deep (limit ${MAX_ATTACHMENT_DEPTH})` : `more than ${MAX_ATTACHMENTS} attachments` };
      }
      await transaction(db, async (c) => {
        await c.query(
          `INSERT INTO document_extracts (document_id, workspace_id, sections) VALUES ($1,$2,$3)
           ON CONFLICT (document_id) DO UPDATE SET sections = EXCLUDED.sections`,
          [documentId, doc.workspace_id, JSON.stringify(extracted.sections)],
        );
        await c.query(`UPDATE documents SET links = $2, metadata = metadata || $3::jsonb WHERE id = $1`, [
          documentId,
          JSON.stringify(extracted.links.slice(0, 500)),
          JSON.stringify({ extracted: extracted.metadata }),
        ]);
        for (const a of accepted) {
          const checksum = createHash('sha256').update(a.bytes).digest('hex');
          // An attachment belongs to whoever owns the e-mail, with its visibility (and its scope).
          const childId = documentIdFor(graphScope(doc).key, checksum);
          const inserted = await c.query(
            `INSERT INTO documents (id, workspace_id, checksum, filename, client_mime, size_bytes, status, parent_id, profile, owner_id, visibility)
             SELECT $1,$2,$3,$4,$5,$6,'queued',$7, profile, owner_id, visibility FROM documents WHERE id = $7
             ON CONFLICT (workspace_id, dedupe_scope, checksum) DO NOTHING RETURNING id`,
            [childId, doc.workspace_id, checksum, a.filename, a.contentType, a.bytes.length, documentId],
          );
          await c.query(`INSERT INTO document_blobs (document_id, workspace_id, bytes) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, [childId, doc.workspace_id, a.bytes]);
          // Only attachments stored now need an ingestion; one seen before already has its document.
          const unprocessed = (await c.query(`SELECT 1 FROM documents WHERE id = $1 AND workflow_id IS NULL AND status = 'queued'`, [childId])).rowCount;
          if (inserted.rowCount || unprocessed) {
            await c.query(`UPDATE documents SET workflow_id = $2 WHERE id = $1`, [childId, `ingest-${childId}`]);
            children.push({ filename: a.filename, checksum, documentId: childId });
          }
        }
      });
      return { sections: extracted.sections.length, pages: extracted.metadata.pages ?? null, links: extracted.links.length, attachments: children };
    },

    /** Stage 4: title, authors, dates, language, counts, size, MIME, original name. */
    async extractDocumentMetadata(documentId: string): Promise<{ title: string; language: string }> {
      const doc = await loadDoc(documentId);
      await setStage(documentId, 'metadata');
      const ex = await db.query(`SELECT sections FROM document_extracts WHERE document_id = $1`, [documentId]);
      const sections = (ex.rows[0]?.sections ?? []) as Section[];
      const meta = ((await db.query(`SELECT metadata FROM documents WHERE id = $1`, [documentId])).rows[0]?.metadata?.extracted ?? {}) as Record<string, unknown>;
      const fullText = sections.map((s) => s.text).join('\n');
      const language = detectLanguage(fullText);
      const title = (typeof meta.title === 'string' && meta.title.trim()) || sections.find((s) => s.kind === 'heading')?.text || doc.filename.replace(/\.[^.]+$/, '');
      const metadata = {
        authors: meta.authors ?? [],
        created: meta.created ?? null,
        modified: meta.modified ?? null,
        pages: meta.pages ?? null,
        slides: meta.slides ?? null,
        sheets: meta.sheets ?? null,
        words: fullText.split(/\s+/).filter(Boolean).length,
        source: meta.source ?? null,
        url: meta.url ?? null,
      };
      await db.query(`UPDATE documents SET title = $2, language = $3, metadata = metadata || $4::jsonb WHERE id = $1`, [documentId, title.slice(0, 500), language, JSON.stringify(metadata)]);
      return { title: title.slice(0, 500), language };
    },

    /** Stage 5: token-bounded chunks with page and section; ids derive from (document, position). */
    async chunkDocument(documentId: string, opts: { maxTokens: number; overlapTokens: number }): Promise<{ chunks: number; tokens: number }> {
      const doc = await loadDoc(documentId);
      await setStage(documentId, 'chunk');
      const sections = ((await db.query(`SELECT sections FROM document_extracts WHERE document_id = $1`, [documentId])).rows[0]?.sections ?? []) as Section[];
      const chunks = chunkSections(
        sections.map((s) => ({ text: s.text, page: s.page, heading: s.heading })),
        opts,
      );
      if (chunks.length === 0) throw ApplicationFailure.nonRetryable('the document has no text to index', 'EmptyDocument');
      await transaction(db, async (c) => {
        // A retry replaces exactly this document's chunks.
        await c.query(`DELETE FROM chunks WHERE document_id = $1`, [documentId]);
        for (let i = 0; i < chunks.length; i += 200) {
          const part = chunks.slice(i, i + 200);
          const values: unknown[] = [];
          const rows = part.map((ch, j) => {
            // Per-chunk language; a chunk too short to tell inherits the document's.
            const lang = detectLanguage(ch.text);
            values.push(chunkId(documentId, ch.position), documentId, doc.workspace_id, ch.position, ch.page ?? null, ch.section ?? null, lang === 'und' ? doc.language : lang, ch.tokens, ch.text);
            const b = j * 9;
            return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7},$${b + 8},$${b + 9})`;
          });
          await c.query(`INSERT INTO chunks (id, document_id, workspace_id, position, page, section, language, tokens, content) VALUES ${rows.join(',')}`, values);
        }
        await c.query(`UPDATE documents SET counts = counts || $2::jsonb WHERE id = $1`, [documentId, JSON.stringify({ chunks: chunks.length })]);
      });
      return { chunks: chunks.length, tokens: chunks.reduce((a, c) => a + c.tokens, 0) };
    },

    /** Stage 6: document type and category, schema-validated; the fast profile classifies by rules. */
    async classifyDocument(documentId: string, profile: IngestProfile): Promise<{ docType: string; category: string; confidence: number; tokens: number; costUsd: number }> {
      const doc = await loadDoc(documentId);
      await setStage(documentId, 'classify');
      const chunks = await loadChunks(documentId);
      let result: { docType: string; category: string; confidence: number; tokens: number; costUsd: number };
      if (profile === FAST_PROFILE || !isProfile(profile)) {
        result = { ...classifyByRules(doc.format ?? 'text', chunks.map((c) => c.content).join(' ').slice(0, 4000)), tokens: 0, costUsd: 0 };
      } else {
        const sample = chunks.slice(0, 3).map((c) => c.content).join('\n\n').slice(0, 3000);
        try {
          const { value, usage } = await llm.chatJson(
            chatAlias('classification', profile),
            classificationMessages({ title: doc.title ?? doc.filename, format: doc.format, sample }),
            ClassificationSchema,
            { workspaceId: doc.workspace_id, workflowId: Context.current().info.workflowExecution?.workflowId, activity: 'classifyDocument' },
            { maxTokens: CLASSIFICATION_MAX_TOKENS, schemaName: 'classification' },
          );
          result = { docType: value.document_type, category: value.category.toLowerCase(), confidence: value.confidence / 100, tokens: usage.tokensIn + usage.tokensOut, costUsd: usage.costUsd };
        } catch (err) {
          if ((err as Error).name === 'LlmOutputError') {
            throw ApplicationFailure.nonRetryable(`classification failed after one repair attempt: ${(err as Error).message}`, 'ClassificationInvalid');
          }
          throw err;
        }
      }
      await db.query(`UPDATE documents SET doc_type = $2, category = $3, classification_confidence = $4 WHERE id = $1`, [documentId, result.docType, result.category, result.confidence]);
      return result;
    },

    /** Stage 7: entities and relations of one batch of chunks; the batch's output replaces its own row. */
    async extractEntitiesBatch(documentId: string, profile: IngestProfile, batch: number, batchSize: number): Promise<{ entities: number; relations: number; tokens: number; costUsd: number }> {
      const doc = await loadDoc(documentId);
      if (batch === 0) await setStage(documentId, 'entities');
      // Chunk positions run 0..n-1, so a batch is a position range.
      const chunks = await loadChunks(documentId, { from: batch * batchSize, to: (batch + 1) * batchSize });
      let entities: ExtractedEntity[] = [];
      let relations: ExtractedRelation[] = [];
      let usage = { model: 'nlp:compromise', tokensIn: 0, tokensOut: 0, costUsd: 0 };
      if (profile === FAST_PROFILE || !isProfile(profile)) {
        ({ entities, relations } = extractFast(chunks.map((c) => ({ position: c.position, text: c.content, language: c.language }))));
      } else {
        const { value, usage: u } = await llm.chatJson(
          chatAlias('extraction', profile),
          extractionMessages(chunks.map((c) => c.content)),
          ExtractionSchema,
          { workspaceId: doc.workspace_id, workflowId: Context.current().info.workflowExecution?.workflowId, activity: 'extractEntitiesBatch' },
          { maxTokens: EXTRACTION_MAX_TOKENS, schemaName: 'knowledge_graph' },
        ).catch((err: Error) => {
          if (err.name === 'LlmOutputError') throw ApplicationFailure.nonRetryable(`entity extraction returned invalid output twice: ${err.message}`, 'ExtractionInvalid');
          throw err;
        });
        usage = { model: u.servedBy ?? chatAlias('extraction', profile), tokensIn: u.tokensIn, tokensOut: u.tokensOut, costUsd: u.costUsd };
        const inText = (name: string, idx: number[]) => idx.filter((i) => chunks[i]?.content.toLowerCase().includes(name.toLowerCase()));
        for (const e of value.entities) {
          // An entity the model names but no chunk contains is a hallucination: dropped.
          const where = inText(e.name, chunks.map((_, i) => i));
          if (where.length === 0) continue;
          entities.push({ name: e.name, type: canonicalType(e.type), description: e.description, confidence: e.confidence / 100, chunks: where.map((i) => chunks[i]!.position) });
        }
        const typeOf = new Map(entities.map((e) => [e.name.toLowerCase(), e.type]));
        for (const r of value.relationships) {
          const st = typeOf.get(r.source.toLowerCase());
          const tt = typeOf.get(r.target.toLowerCase());
          const ch = chunks[r.chunk] ?? chunks[0];
          if (!st || !tt || !ch || r.source.toLowerCase() === r.target.toLowerCase()) continue;
          relations.push({ source: r.source, sourceType: st, target: r.target, targetType: tt, type: r.type.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 40), description: r.description, confidence: r.confidence / 100, chunk: ch.position });
        }
      }
      await db.query(
        `INSERT INTO extraction_batches (document_id, batch, workspace_id, profile, result, model, tokens_in, tokens_out, cost_usd)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
         ON CONFLICT (document_id, batch) DO UPDATE SET result = EXCLUDED.result, model = EXCLUDED.model, profile = EXCLUDED.profile,
           tokens_in = EXCLUDED.tokens_in, tokens_out = EXCLUDED.tokens_out, cost_usd = EXCLUDED.cost_usd`,
        [documentId, batch, doc.workspace_id, profile, JSON.stringify({ entities, relations }), usage.model, usage.tokensIn, usage.tokensOut, usage.costUsd],
      );
      return { entities: entities.length, relations: relations.length, tokens: usage.tokensIn + usage.tokensOut, costUsd: usage.costUsd };
    },

    /**
     * Stage 8: entity resolution. Within the document: by type and normalised name. Against the
     * workspace: an exact (type, name) match reuses the graph id; otherwise a near-duplicate by
     * embedding similarity (same type only) above the threshold does.
     */
    async resolveDocumentEntities(documentId: string, batches: number, similarityThreshold: number | null): Promise<{ entities: number; relations: number; mergedBySimilarity: number }> {
      const doc = await loadDoc(documentId);
      await setStage(documentId, 'resolve');
      const rows = (await db.query(`SELECT result, model FROM extraction_batches WHERE document_id = $1 AND batch < $2 ORDER BY batch`, [documentId, batches])).rows;
      const rawEntities: ExtractedEntity[] = rows.flatMap((r) => r.result.entities);
      const rawRelations: ExtractedRelation[] = rows.flatMap((r) => r.result.relations);
      const model = rows[0]?.model ?? 'unknown';
      const resolved = resolveWithinDocument(rawEntities);
      // Entities are resolved within the document's scope: a private document's never merge with anyone else's.
      const scope = graphScope(doc);
      const ids = new Map<string, string>();
      let merged = 0;
      if (resolved.length) {
        const { vectors, model: embModel } = await llm.embed(EMBEDDING_FOR.entities, resolved.map((e) => e.name), { workspaceId: doc.workspace_id, activity: 'resolveDocumentEntities' });
        const col = await vectorCollection(chroma, COLLECTIONS.entities, embModel, vectors[0]!.length);
        const exactIds = resolved.map((e) => stableId(scope.key, e.key));
        const existing = new Set((await col.get({ ids: exactIds, include: [] })).ids);
        resolved.forEach((e, i) => ids.set(e.key, exactIds[i]!));
        // New entities look for a near-duplicate of the same type: one query per type, all at once.
        const fresh = resolved.map((e, i) => ({ e, i })).filter(({ i }) => !existing.has(exactIds[i]!));
        for (const type of new Set(fresh.map((f) => f.e.type))) {
          const group = fresh.filter((f) => f.e.type === type);
          for (let k = 0; k < group.length; k += 100) {
            const part = group.slice(k, k + 100);
            const near = await col.query({
              queryEmbeddings: part.map((f) => vectors[f.i]!),
              nResults: 1,
              where: { $and: [{ workspace_id: doc.workspace_id }, { scope: scope.key }, { entity_type: type }] },
              include: ['distances'],
            });
            part.forEach((f, j) => {
              const d = near.distances?.[j]?.[0];
              const nearId = near.ids[j]?.[0];
              if (nearId && d !== undefined && d !== null && 1 - d >= (similarityThreshold ?? entityMergeSimilarity(embModel))) {
                ids.set(f.e.key, nearId);
                merged++;
              }
            });
          }
        }
      }
      const relKey = (r: ExtractedRelation) => {
        const s = ids.get(entityKey(r.sourceType, r.source));
        const t = ids.get(entityKey(r.targetType, r.target));
        return s && t && s !== t ? { s, t } : null;
      };
      let relationCount = 0;
      await transaction(db, async (c) => {
        await c.query(`DELETE FROM document_entities WHERE document_id = $1`, [documentId]);
        await c.query(`DELETE FROM document_relations WHERE document_id = $1`, [documentId]);
        const byId = new Map<string, (typeof resolved)[number]>();
        for (const e of resolved) {
          const id = ids.get(e.key)!;
          const prev = byId.get(id);
          byId.set(id, prev ? { ...prev, aliases: [...new Set([...prev.aliases, ...e.aliases])], chunks: [...new Set([...prev.chunks, ...e.chunks])] } : e);
        }
        for (const [id, e] of byId) {
          await c.query(
            `INSERT INTO document_entities (document_id, entity_id, workspace_id, name, type, aliases, description, confidence, chunk_positions)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
            [documentId, id, doc.workspace_id, e.name, e.type, e.aliases, e.description ?? null, e.confidence, e.chunks],
          );
        }
        const seen = new Set<string>();
        for (const r of rawRelations) {
          const k = relKey(r);
          if (!k) continue;
          const key = `${k.s}|${k.t}|${r.type}|${r.chunk}`;
          if (seen.has(key)) continue;
          seen.add(key);
          relationCount++;
          await c.query(
            `INSERT INTO document_relations (document_id, workspace_id, source_id, target_id, type, description, confidence, chunk_position) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
            [documentId, doc.workspace_id, k.s, k.t, r.type, r.description ?? null, r.confidence, r.chunk],
          );
        }
        await c.query(`UPDATE documents SET counts = counts || $2::jsonb, metadata = metadata || $3::jsonb WHERE id = $1`, [
          documentId,
          JSON.stringify({ entities: byId.size, relations: relationCount }),
          JSON.stringify({ extraction_model: model }),
        ]);
      });
      return { entities: new Set(ids.values()).size, relations: relationCount, mergedBySimilarity: merged };
    },

    /** Stage 9: chunk and entity vectors to Chroma (upserts by deterministic ids). */
    async embedAndIndexDocument(documentId: string): Promise<{ chunkVectors: number; entityVectors: number; dimension: number }> {
      const doc = await loadDoc(documentId);
      await setStage(documentId, 'embed');
      return indexVectors(doc, 'embedAndIndexDocument');
    },

    /**
     * A completed document's vectors written again by the embedding model its aliases serve now (the
     * re-embedding migration after a model change); its stage and status stay as they are. A document
     * deleted or no longer completed meanwhile is skipped.
     */
    async reembedDocument(documentId: string): Promise<{ chunkVectors: number; entityVectors: number } | null> {
      const doc = (await db.query(`SELECT * FROM documents WHERE id = $1 AND status = 'completed'`, [documentId])).rows[0] as DocRow | undefined;
      if (!doc) return null;
      const { chunkVectors, entityVectors } = await indexVectors(doc, 'reembedDocument');
      return { chunkVectors, entityVectors };
    },

    /** Stage 10: the graph, MERGE-only so a retry changes nothing. */
    async writeDocumentGraph(documentId: string): Promise<{ chunks: number; entities: number; mentions: number; relations: number; references: number }> {
      const doc = await loadDoc(documentId);
      await setStage(documentId, 'graph');
      const chunks = await loadChunks(documentId);
      const ents = (await db.query(`SELECT entity_id, name, type, aliases, description, confidence, chunk_positions FROM document_entities WHERE document_id = $1`, [documentId])).rows;
      const rels = (await db.query(`SELECT source_id, target_id, type, description, confidence, chunk_position FROM document_relations WHERE document_id = $1`, [documentId])).rows;
      const meta = (await db.query(`SELECT filename, size_bytes, checksum, metadata, links, language FROM documents WHERE id = $1`, [documentId])).rows[0];
      const model = (meta.metadata?.extraction_model as string) ?? 'unknown';
      const ws = doc.workspace_id;
      // Every node this document writes carries its scope label; it only ever links nodes of that scope.
      const scope = escapeName(graphScope(doc).label);
      const session = graph.session();
      try {
        await session.executeWrite(async (tx) => {
          await tx.run(
            `MERGE (d:Document {id: $id})
             SET d:${scope}, d.workspace_id = $ws, d.title = $title, d.filename = $filename, d.document_type = $type, d.category = $category,
                 d.upload_date = datetime($uploaded), d.size_bytes = $size, d.checksum = $checksum, d.language = $language,
                 d.source = $source, d.published = $published`,
            { id: documentId, ws, title: doc.title ?? doc.filename, filename: meta.filename, type: doc.doc_type ?? 'other', category: doc.category ?? 'other', uploaded: doc.created_at.toISOString(), size: Number(meta.size_bytes), checksum: meta.checksum, language: meta.language ?? 'und',
              source: typeof meta.metadata?.source === 'string' ? meta.metadata.source : null, published: typeof meta.metadata?.created === 'string' ? meta.metadata.created : null },
          );
          for (let i = 0; i < chunks.length; i += 500) {
            await tx.run(
              `MATCH (d:Document {id: $id})
               UNWIND $chunks AS c
               MERGE (ch:Chunk {id: c.id})
               SET ch:${scope}, ch.workspace_id = $ws, ch.document_id = $id, ch.content = c.content, ch.context = $context, ch.position = c.position, ch.page = c.page,
                   ch.section = c.section, ch.tokens = c.tokens, ch.language = c.language, ch.embedding_vector_id = c.id
               MERGE (d)-[:CONTAINS]->(ch)`,
              { id: documentId, ws, context: chunkContext(doc), chunks: chunks.slice(i, i + 500).map((c) => ({ id: c.id, content: c.content, position: c.position, page: c.page, section: c.section, tokens: c.tokens, language: c.language })) },
            );
          }
          await tx.run(
            `UNWIND $ents AS e
             MERGE (n:Entity {id: e.id})
             ON CREATE SET n.workspace_id = $ws, n.name = e.name, n.type = e.type, n.normalized_name = e.normalized, n.confidence = e.confidence,
                           n.extraction_model = $model, n.description = e.description, n.aliases = e.aliases
             ON MATCH SET n.aliases = reduce(acc = coalesce(n.aliases, []), a IN e.aliases | CASE WHEN a IN acc THEN acc ELSE acc + a END),
                          n.confidence = CASE WHEN e.confidence > n.confidence THEN e.confidence ELSE n.confidence END,
                          n.description = coalesce(n.description, e.description)
             SET n:${scope}`,
            { ws, model, ents: ents.map((e) => ({ id: e.entity_id, name: e.name, type: e.type, normalized: e.name.toLowerCase(), confidence: e.confidence, description: e.description, aliases: e.aliases })) },
          );
          const mentions = ents.flatMap((e) => (e.chunk_positions as number[]).map((p) => ({ chunk: chunkId(documentId, p), entity: e.entity_id })));
          await tx.run(
            `UNWIND $mentions AS m
             MATCH (c:Chunk {id: m.chunk}), (e:Entity {id: m.entity})
             MERGE (c)-[:MENTIONS]->(e)`,
            { mentions },
          );
          // Evidence is a set of chunk ids; the weight is how many chunks support the relation.
          await tx.run(
            `UNWIND $rels AS r
             MATCH (a:Entity {id: r.source}), (b:Entity {id: r.target})
             MERGE (a)-[rel:RELATED_TO {type: r.type}]->(b)
             ON CREATE SET rel.workspace_id = $ws, rel.evidence = [], rel.description = r.description, rel.confidence = r.confidence
             SET rel.evidence = reduce(acc = coalesce(rel.evidence, []), x IN r.evidence | CASE WHEN x IN acc THEN acc ELSE acc + x END),
                 rel.confidence = CASE WHEN r.confidence > rel.confidence THEN r.confidence ELSE rel.confidence END
             SET rel.weight = size(rel.evidence)`,
            { ws, rels: groupRelations(documentId, rels) },
          );
          // REFERENCES: links that name another document of the workspace by its file name.
          const names = ((meta.links ?? []) as string[]).map((l) => decodeURIComponent(l.split(/[?#]/)[0]!.split('/').pop() ?? '')).filter((n) => n.length > 3);
          if (names.length) {
            await tx.run(
              `MATCH (d:Document {id: $id}), (o:Document:${scope} {workspace_id: $ws})
               WHERE o.id <> $id AND o.filename IN $names
               MERGE (d)-[:REFERENCES]->(o)`,
              { id: documentId, ws, names },
            );
          }
        });
        await publishGraphEvent(redis, db, {
          document_id: documentId,
          workspace_id: ws,
          change: 'added',
          entity_count: ents.length,
          entities: ents.slice(0, 200).map((e) => ({ id: e.entity_id, name: e.name, type: e.type })),
          relationship_count: rels.length,
          relationships: rels.slice(0, 200).map((r) => ({ source_id: r.source_id, target_id: r.target_id, type: r.type })),
        });
        const counts = await session.executeRead((tx) =>
          tx.run(
            `MATCH (d:Document {id: $id})
             OPTIONAL MATCH (d)-[:REFERENCES]->(o)
             RETURN count(DISTINCT o) AS refs`,
            { id: documentId },
          ),
        );
        return { chunks: chunks.length, entities: ents.length, mentions: ents.reduce((a, e) => a + e.chunk_positions.length, 0), relations: rels.length, references: counts.records[0]?.get('refs') ?? 0 };
      } finally {
        await session.close();
      }
    },

    /** The last stage: status completed, counts recorded, caches of answers invalidated. */
    async completeDocument(documentId: string, counts: Record<string, number>): Promise<void> {
      const doc = await loadDoc(documentId);
      await redis.incr(`neuronode:corpus-version:${doc.workspace_id}`);
      await updateAndAnnounce(redis, db, documentId, `status = 'completed', stage = 'done', error = NULL, counts = counts || $2::jsonb`, [JSON.stringify(counts)], { stage: 'done', status: 'completed', detail: counts });
    },

    /**
     * Records why a document failed, was cancelled or rejected. It removes nothing: the workflow runs
     * cleanupDocumentData first, so no store keeps what the run wrote outside this record.
     */
    async failDocument(documentId: string, error: { type: string; message: string; stage: string }, status: 'failed' | 'cancelled' | 'rejected' = 'failed'): Promise<void> {
      await updateAndAnnounce(redis, db, documentId, `status = $2, error = $3`, [status, JSON.stringify(error)], { stage: error.stage, status: 'failed', detail: error });
    },
  };
}

/**
 * What every chunk of a document carries into retrieval besides its own text: the title, and the
 * source and date when the document names them. Embedded with the chunk and indexed for keyword
 * search, so "the TechCrunch article of 3 May" finds chunks that do not repeat those words.
 */
export function chunkContext(doc: { title: string | null; filename: string; metadata?: Record<string, unknown> | null }): string {
  const m = doc.metadata ?? {};
  const source = typeof m.source === 'string' ? m.source : null;
  const date = typeof m.created === 'string' && !Number.isNaN(Date.parse(m.created)) ? new Date(m.created).toISOString().slice(0, 10) : null;
  const line = [source, date].filter(Boolean).join(', ');
  return `${doc.title ?? doc.filename}${line ? `\n${line}` : ''}`;
}

/** A document's id, from its scope's key (`graphScope`: the workspace for organisation-wide ones) and checksum. */
/** Attachments of one e-mail that become documents; the rest are noted in its metadata. */
export const MAX_ATTACHMENTS = 50;
/** How deep e-mails attached to e-mails are followed (the uploaded one is level 0). */
export const MAX_ATTACHMENT_DEPTH = 3;

export function documentIdFor(scopeKey: string, checksum: string): string {
  return `doc_${stableId(scopeKey, checksum).slice(0, 24)}`;
}

export function chunkId(documentId: string, position: number): string {
  return `chk_${stableId(documentId, position).slice(0, 24)}`;
}

function groupRelations(documentId: string, rels: { source_id: string; target_id: string; type: string; description: string | null; confidence: number; chunk_position: number }[]) {
  const g = new Map<string, { source: string; target: string; type: string; description: string | null; confidence: number; evidence: string[] }>();
  for (const r of rels) {
    const k = `${r.source_id}|${r.target_id}|${r.type}`;
    const cur = g.get(k) ?? { source: r.source_id, target: r.target_id, type: r.type, description: r.description, confidence: r.confidence, evidence: [] };
    cur.evidence.push(chunkId(documentId, r.chunk_position));
    cur.confidence = Math.max(cur.confidence, r.confidence);
    g.set(k, cur);
  }
  return [...g.values()];
}

/** The fast profile's classifier: by format and by keywords of the text (German and English). */
export function classifyByRules(format: string, text: string): { docType: string; category: string; confidence: number } {
  const t = text.toLowerCase();
  const docType =
    format === 'email' ? 'email' : format === 'pptx' ? 'presentation' : format === 'xlsx' || format === 'csv' ? 'spreadsheet' :
    /\b(agreement|contract|vertrag|vereinbarung)\b/.test(t) ? 'contract' :
    /\b(minutes|protokoll|sitzung)\b/.test(t) ? 'minutes' :
    /\b(manual|handbuch|installation|anleitung)\b/.test(t) ? 'manual' :
    /\b(policy|richtlinie)\b/.test(t) ? 'policy' :
    /\b(report|bericht|quarter|quartal|annual)\b/.test(t) ? 'report' : 'article';
  const categories: [string, RegExp][] = [
    ['finance', /\b(revenue|profit|stock|shares|investor|umsatz|gewinn|aktie|bank|market|markt)\w*/g],
    ['technology', /\b(software|ai|computer|technolog|digital|app|internet|chip|daten|data)\w*/g],
    ['politics', /\b(government|election|minister|parliament|regierung|wahl|bundestag|policy|politi)\w*/g],
    ['energy', /\b(energy|energie|grid|netz|power|strom|gas|renewable|wind|solar)\w*/g],
    ['health', /\b(health|medical|patient|gesundheit|krankenhaus|disease|vaccine)\w*/g],
    ['sports', /\b(game|season|team|league|player|spiel|mannschaft|match|coach)\w*/g],
    ['entertainment', /\b(film|movie|music|show|series|album|netflix|star)\w*/g],
    ['legal', /\b(court|law|legal|gericht|gesetz|lawsuit|klage)\w*/g],
  ];
  const scored = categories.map(([c, re]) => [c, (t.match(re) ?? []).length] as const).sort((a, b) => b[1] - a[1]);
  const [best, n] = scored[0]!;
  const total = scored.reduce((a, s) => a + s[1], 0);
  return { docType, category: n > 0 ? best : 'general', confidence: total ? Math.round((n / total) * 100) / 100 : 0.2 };
}

export { countTokens };
