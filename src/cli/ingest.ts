import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import WebSocket from 'ws';
import type { Api } from './session';

/** The ingestion's stages in order: a document's bar fills as it passes them. */
const STAGES = ['queued', 'stored', 'detect', 'extract', 'metadata', 'chunk', 'classify', 'entities', 'resolve', 'embed', 'graph', 'done'];

export interface IngestResult {
  file: string;
  document_id: string | null;
  outcome: 'ingested' | 'duplicate' | 'failed';
  status: string;
  chunks: number | null;
  entities: number | null;
  error: string | null;
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
  id: string;
  bar: SingleBar | null;
  done: boolean;
  result?: IngestResult;
}

/**
 * Uploads the files (ten per request), then follows every document on /ws/documents/processing until
 * it completes or fails (with a status poll every few seconds, so a missed event cannot hang it).
 * Uploading the same bytes again is reported as a duplicate, which makes a repeated run resume.
 */
export async function ingestFiles(api: Api, files: string[], opts: { profile?: string; visibility?: string; bars: boolean; log: (line: string) => void; timeoutMs?: number }): Promise<IngestResult[]> {
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
    t.result = {
      file: t.file,
      document_id: t.id,
      outcome: doc.status === 'completed' ? 'ingested' : 'failed',
      status: doc.status,
      chunks: doc.counts?.chunks ?? null,
      entities: doc.counts?.entities ?? null,
      error: doc.status === 'completed' ? null : (doc.error?.message ?? doc.status),
    };
    t.bar?.update(STAGES.length, { stage: doc.status });
    overall?.increment();
    if (!multibar) opts.log(`${doc.status === 'completed' ? 'ok    ' : 'FAILED'} ${basename(t.file)}${doc.status === 'completed' ? '' : ` — ${t.result.error}`}`);
  };
  ws.on('message', (raw) => {
    const e = JSON.parse(String(raw)) as { type?: string; document_id?: string; stage?: string; status?: string; detail?: Record<string, unknown> };
    const t = e.document_id ? tracked.get(e.document_id) : undefined;
    if (!t || t.done) return;
    const at = STAGES.indexOf(e.stage ?? '');
    if (at >= 0) t.bar?.update(at, { stage: e.stage });
    if (e.status === 'completed' || e.status === 'failed') {
      // The final record (counts, error) comes from the API, not from the event.
      void api.json<{ status: string; counts: Record<string, number>; error: { message?: string } | null }>(`/api/documents/${t.id}`).then((doc) => finish(t, doc), () => undefined);
    }
  });

  try {
    for (let i = 0; i < files.length; i += 10) {
      const group = files.slice(i, i + 10);
      const form = new FormData();
      for (const f of group) form.append('files', new Blob([new Uint8Array(readFileSync(f))]), basename(f));
      if (opts.profile) form.append('profile', opts.profile);
      if (opts.visibility) form.append('visibility', opts.visibility);
      const up = await api.json<{ documents: { document_id: string; duplicate: boolean; status: string }[] }>('/api/documents/upload', { method: 'POST', body: form });
      for (const [k, d] of up.documents.entries()) {
        const file = group[k]!;
        if (d.duplicate) {
          const doc = await api.json<{ status: string; counts: Record<string, number> | null; error: { message?: string } | null }>(`/api/documents/${d.document_id}`);
          if (doc.status === 'completed') {
            results.push({ file, document_id: d.document_id, outcome: 'duplicate', status: doc.status, chunks: doc.counts?.chunks ?? null, entities: doc.counts?.entities ?? null, error: null });
            overall?.increment();
            if (!multibar) opts.log(`dup    ${basename(file)}`);
            continue;
          }
        }
        const t: Tracked = { file, id: d.document_id, bar: multibar?.create(STAGES.length, 0, { name: basename(file), stage: d.status }) ?? null, done: false };
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
        if (['completed', 'failed', 'cancelled', 'rejected'].includes(doc.status)) finish(t, doc);
        else if (STAGES.includes(doc.stage)) t.bar?.update(STAGES.indexOf(doc.stage), { stage: doc.stage });
      }
    }
  } finally {
    ws.close();
    multibar?.stop();
  }
  return [...results, ...[...tracked.values()].map((t) => t.result!)].sort((a, b) => a.file.localeCompare(b.file));
}
