import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import WebSocket from 'ws';
import type { Api } from './session';

/** The ingestion's stages in order: a document's bar fills as it passes them. */
const STAGES = ['queued', 'stored', 'detect', 'extract', 'metadata', 'chunk', 'classify', 'entities', 'resolve', 'embed', 'graph', 'done'];

export interface IngestResult {
  file: string;
  /** The file's name, or archive.zip/inner/path for a file of a ZIP archive (as the lines and bars call it). */
  name: string;
  document_id: string | null;
  /** awaiting_approval: the ingestion waits for an administrator's budget decision (`neuronode budget`). */
  outcome: 'ingested' | 'duplicate' | 'failed' | 'awaiting_approval';
  status: string;
  chunks: number | null;
  entities: number | null;
  error: string | null;
}

/** A ZIP archive to unpack (by its name and signature; Office documents are ZIPs too but keep their names). */
export function isZipArchive(path: string): boolean {
  if (!/\.zip$/i.test(path)) return false;
  const head = Buffer.alloc(2);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  return head[0] === 0x50 && head[1] === 0x4b;
}

/** Files of the paths given: files as they are, folders recursively (hidden entries skipped), sorted. */
export function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(join(p, name));
    } else if (st.isFile()) out.push(resolve(p));
  };
  for (const p of paths) walk(p);
  return [...new Set(out)];
}

interface Tracked {
  file: string;
  /** What the bars and lines call it: the file's name, or archive.zip/inner/path for a ZIP's file. */
  name: string;
  id: string;
  bar: SingleBar | null;
  done: boolean;
  result?: IngestResult;
}

/**
 * Uploads the files (ten per request), then follows every document on /ws/documents/processing until
 * it completes or fails (with a status poll every few seconds, so a missed event cannot hang it).
 * Uploading the same bytes again is reported as a duplicate, which makes a repeated run resume. A
 * document that stops to wait for a budget decision ends its bar there (outcome awaiting_approval),
 * unless waitApproval is set, which waits for the decision and follows the document on to its end.
 */
export async function ingestFiles(
  api: Api,
  files: string[],
  opts: { profile?: string; visibility?: string; bars: boolean; log: (line: string) => void; timeoutMs?: number; waitApproval?: boolean },
): Promise<IngestResult[]> {
  // Without waitApproval a document at the budget gate ends the command's watch over it.
  const terminal = new Set(['completed', 'failed', 'cancelled', 'rejected', ...(opts.waitApproval ? [] : ['awaiting_approval'])]);
  const multibar = opts.bars ? new MultiBar({ format: ' {bar} {percentage}% | {name} | {stage}', hideCursor: true, clearOnComplete: false, stopOnComplete: false, stream: process.stderr }, Presets.shades_classic) : null;
  const overall = multibar?.create(files.length, 0, { name: 'all documents', stage: '' }) ?? null;
  const tracked = new Map<string, Tracked>();
  const results: IngestResult[] = [];

  const wsUrl = `${api.url.replace(/^http/, 'ws')}/ws/documents/processing`;
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${api.token}` } });
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  const finish = (t: Tracked, doc: { status: string; counts?: Record<string, number> | null; error?: { message?: string } | null }) => {
    if (t.done) return;
    t.done = true;
    const outcome = doc.status === 'completed' ? 'ingested' : doc.status === 'awaiting_approval' ? 'awaiting_approval' : 'failed';
    t.result = {
      file: t.file,
      name: t.name,
      document_id: t.id,
      outcome,
      status: doc.status,
      chunks: doc.counts?.chunks ?? null,
      entities: doc.counts?.entities ?? null,
      error: outcome === 'failed' ? (doc.error?.message ?? doc.status) : null,
    };
    t.bar?.update(outcome === 'awaiting_approval' ? STAGES.indexOf('classify') : STAGES.length, { stage: doc.status });
    overall?.increment();
    if (!multibar) opts.log(`${{ ingested: 'ok    ', awaiting_approval: 'WAITS ', failed: 'FAILED' }[outcome]} ${t.name}${outcome === 'failed' ? ` — ${t.result.error}` : ''}`);
  };
  ws.on('message', (raw) => {
    const e = JSON.parse(String(raw)) as { type?: string; document_id?: string; stage?: string; status?: string; detail?: Record<string, unknown> };
    const t = e.document_id ? tracked.get(e.document_id) : undefined;
    if (!t || t.done) return;
    const at = STAGES.indexOf(e.stage ?? '');
    if (at >= 0) t.bar?.update(at, { stage: e.stage });
    if (terminal.has(e.status ?? '')) {
      // The final record (counts, error) comes from the API, not from the event.
      void api.json<{ status: string; counts: Record<string, number>; error: { message?: string } | null }>(`/api/documents/${t.id}`).then(
        (doc) => (terminal.has(doc.status) ? finish(t, doc) : undefined),
        (err: Error) => opts.log(`(${t.name}: status not read after its event — ${err.message}; the poll reads it again)`),
      );
    }
  });

  try {
    // Plain files ten to a request; a ZIP archive as an ingestion batch, which the API unpacks.
    const zips = new Set(files.filter(isZipArchive));
    const plain = files.filter((f) => !zips.has(f));
    const requests: { path: string; files: string[]; archive: boolean }[] = [];
    for (let i = 0; i < plain.length; i += 10) requests.push({ path: '/api/documents/upload', files: plain.slice(i, i + 10), archive: false });
    for (const z of zips) requests.push({ path: '/api/documents/batch', files: [z], archive: true });
    for (const r of requests) {
      const form = new FormData();
      for (const f of r.files) form.append('files', new Blob([new Uint8Array(readFileSync(f))]), basename(f));
      if (opts.profile) form.append('profile', opts.profile);
      if (opts.visibility) form.append('visibility', opts.visibility);
      const up = await api.json<{ documents: { document_id: string; filename: string; duplicate: boolean; status: string }[] }>(r.path, { method: 'POST', body: form });
      if (r.archive) overall?.setTotal(overall.getTotal() - 1 + up.documents.length);
      for (const [k, d] of up.documents.entries()) {
        const file = r.archive ? `${r.files[0]!}/${d.filename}` : r.files[k]!;
        const name = r.archive ? `${basename(r.files[0]!)}/${d.filename}` : basename(file);
        if (d.duplicate) {
          const doc = await api.json<{ status: string; counts: Record<string, number> | null; error: { message?: string } | null }>(`/api/documents/${d.document_id}`);
          if (doc.status === 'completed') {
            results.push({ file, name, document_id: d.document_id, outcome: 'duplicate', status: doc.status, chunks: doc.counts?.chunks ?? null, entities: doc.counts?.entities ?? null, error: null });
            overall?.increment();
            if (!multibar) opts.log(`dup    ${name}`);
            continue;
          }
        }
        if (tracked.has(d.document_id)) continue; // the same bytes twice in one run
        const t: Tracked = { file, name, id: d.document_id, bar: multibar?.create(STAGES.length, 0, { name, stage: d.status }) ?? null, done: false };
        tracked.set(d.document_id, t);
      }
    }
    // Until every document has finished: events drive it, a poll backs them up.
    const deadline = Date.now() + (opts.timeoutMs ?? 3_600_000);
    while ([...tracked.values()].some((t) => !t.done)) {
      if (Date.now() > deadline) throw new Error('documents still processing when the time ran out');
      await new Promise((r) => setTimeout(r, 3000));
      for (const t of tracked.values()) {
        if (t.done) continue;
        const doc = await api.json<{ status: string; stage: string; counts: Record<string, number> | null; error: { message?: string } | null }>(`/api/documents/${t.id}`);
        if (terminal.has(doc.status)) finish(t, doc);
        else if (STAGES.includes(doc.stage)) t.bar?.update(STAGES.indexOf(doc.stage), { stage: doc.stage });
      }
    }
  } finally {
    ws.close();
    multibar?.stop();
  }
  return [...results, ...[...tracked.values()].map((t) => t.result!)].sort((a, b) => a.file.localeCompare(b.file));
}
