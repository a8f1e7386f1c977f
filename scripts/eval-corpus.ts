/**
 * The MultiHop-RAG corpus (../shared/eval/multihop-rag, real news, ODC-BY) as a workspace of the
 * system: each article becomes a Markdown file whose front matter carries its title, author, source,
 * date and URL, uploaded and ingested through the real durable pipeline. Idempotent: articles already
 * stored are not stored twice, documents already completed are not ingested again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { storeFile } from '../src/api/documents';
import { taskQueues, type Env as Config } from '../src/config';
import type { Deps } from '../src/deps';
import { makeBatchWorkflowId, newId } from '../src/domain/ids';

export interface Article {
  title: string;
  author: string | null;
  source: string;
  published_at: string;
  category: string;
  url: string;
  body: string;
}

export interface Query {
  query: string;
  answer: string;
  question_type: string;
  evidence_list: { title: string; source: string; published_at: string; fact: string }[];
}

export const EVAL_DIR = [join(__dirname, '..', '..', 'shared', 'eval', 'multihop-rag'), '/work/shared/eval/multihop-rag'].find((d) => existsSync(join(d, 'corpus.json.gz')));

export function loadCorpus(): Article[] {
  if (!EVAL_DIR) throw new Error('the MultiHop-RAG corpus is missing (../shared/eval/multihop-rag/corpus.json.gz)');
  return JSON.parse(gunzipSync(readFileSync(join(EVAL_DIR, 'corpus.json.gz'))).toString('utf8')) as Article[];
}

export function loadQueries(): Query[] {
  if (!EVAL_DIR) throw new Error('the MultiHop-RAG queries are missing (../shared/eval/multihop-rag/queries.dev.json)');
  return JSON.parse(readFileSync(join(EVAL_DIR, 'queries.dev.json'), 'utf8')) as Query[];
}

export function articleMarkdown(a: Article): Buffer {
  const fm = [
    '---',
    `title: ${JSON.stringify(a.title)}`,
    ...(a.author ? [`author: ${JSON.stringify(a.author)}`] : []),
    `source: ${JSON.stringify(a.source)}`,
    `published_at: ${JSON.stringify(a.published_at)}`,
    `url: ${JSON.stringify(a.url)}`,
    `category: ${JSON.stringify(a.category)}`,
    '---',
    '',
  ];
  return Buffer.from(`${fm.join('\n')}${a.body}\n`, 'utf8');
}

/** Stores every article in the workspace and ingests those not yet completed; returns the document ids. */
export async function ensureCorpus(deps: Deps, env: Config, ws: string, profile: string, log = console.log, limit = Infinity): Promise<{ ids: string[]; ingestedNow: number; seconds: number }> {
  const files = loadCorpus()
    .slice(0, limit)
    .map((a, i) => ({ name: `multihop-${String(i).padStart(3, '0')}.md`, type: 'text/markdown', bytes: articleMarkdown(a) }));
  return ensureDocuments(deps, env, { id: ws, name: 'MultiHop-RAG evaluation corpus' }, files, profile, log);
}

/**
 * Stores the files in the workspace (created when missing) as the upload endpoint does, ingests those
 * not yet completed as one durable batch, and returns the document ids. Idempotent: a file already
 * stored is not stored twice, a document already completed is not ingested again.
 */
export async function ensureDocuments(
  deps: Deps,
  env: Config,
  workspace: { id: string; name: string },
  files: { name: string; type: string; bytes: Buffer }[],
  profile: string,
  log = console.log,
): Promise<{ ids: string[]; ingestedNow: number; seconds: number }> {
  const ws = workspace.id;
  await deps.db.query(`INSERT INTO workspaces (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [ws, workspace.name]);
  const ids: string[] = [];
  for (const f of files) ids.push((await storeFile(deps, ws, f.name, f.type, f.bytes, profile)).document_id);
  const pending = (await deps.db.query(`SELECT id FROM documents WHERE id = ANY($1) AND status <> 'completed'`, [ids])).rows.map((r) => r.id as string);
  const started = performance.now();
  if (pending.length) {
    log(`ingesting ${pending.length} of ${ids.length} documents (profile ${profile})`);
    const batchId = newId();
    const handle = await deps.temporal!.workflow.start('ingestBatch', {
      taskQueue: taskQueues(env).main,
      workflowId: makeBatchWorkflowId(batchId),
      args: [{ batchId, workspaceId: ws, profile, llmTaskQueue: taskQueues(env).llm, documentIds: pending, window: 4, chunkTokens: env.CHUNK_TOKENS, overlapTokens: env.CHUNK_OVERLAP_TOKENS }],
    });
    const timer = setInterval(() => {
      handle
        .query('batchProgress')
        .then((p) => log(`  progress ${JSON.stringify(p)}`))
        .catch((err: unknown) => log(`  progress not readable now: ${err instanceof Error ? err.message : String(err)}`));
    }, 60_000);
    try {
      await handle.result();
    } finally {
      clearInterval(timer);
    }
  }
  const failed = (await deps.db.query(`SELECT id, error FROM documents WHERE id = ANY($1) AND status <> 'completed'`, [ids])).rows;
  if (failed.length) log(`${failed.length} documents did not complete: ${JSON.stringify(failed.slice(0, 3))}`);
  return { ids, ingestedNow: pending.length, seconds: (performance.now() - started) / 1000 };
}

/** Plain BM25 (scripts/bm25_baseline.py, rank_bm25 from the hash-locked stack/locks/bm25.lock). */
export function plainBm25(documents: string[], queries: string[], k: number): { top: number[][]; tokenizer: string; version: string } {
  const python = process.env.BM25_PYTHON;
  if (!python || !existsSync(python)) throw new Error('BM25_PYTHON is not set or missing: run stack/stack.sh install and eval "$(stack/stack.sh env)"');
  const out = execFileSync(python, [join(__dirname, 'bm25_baseline.py')], { input: JSON.stringify({ documents, queries, k }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const version = execFileSync(python, ['-c', 'import importlib.metadata as m; print(m.version("rank-bm25"))'], { encoding: 'utf8' }).trim();
  return { ...(JSON.parse(out) as { top: number[][]; tokenizer: string }), version };
}

/** The fixed tuning slice of the development split: every fifth query. Figures are reported on the rest. */
export const isTuning = (i: number) => i % 5 === 0;
