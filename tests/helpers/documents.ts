import { api } from './system';

export interface Uploaded {
  document_id: string;
  workflow_id: string;
  duplicate: boolean;
  status: string;
}

/** Uploads files through the real multipart endpoint. */
export async function upload(
  base: string,
  files: { name: string; bytes: Buffer; type?: string }[],
  profile?: string,
  opts: { token?: string | null; visibility?: 'private' | 'organisation'; headers?: Record<string, string>; path?: string } = {},
) {
  const form = new FormData();
  for (const f of files) form.append('files', new Blob([new Uint8Array(f.bytes)], { type: f.type ?? 'application/octet-stream' }), f.name);
  if (profile) form.append('profile', profile);
  if (opts.visibility) form.append('visibility', opts.visibility);
  return api(base, opts.path ?? '/api/documents/upload', { method: 'POST', body: form, token: opts.token, headers: opts.headers });
}

/** Polls the document until it leaves queued/processing (or the time runs out). */
export async function waitForDocument(base: string, id: string, timeoutMs = 240_000, token?: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(base, `/api/documents/${id}`, { token });
    if (r.status === 200 && !['queued', 'processing', 'deleting'].includes(r.json.status)) return r.json;
    if (Date.now() > until) throw new Error(`document ${id} still ${r.json?.status}/${r.json?.stage} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

/**
 * Uploads one file as a new document and returns its id without waiting. The stores outlive a test
 * run, so a document left by an earlier run (same bytes, same id) is deleted first.
 */
export async function freshUpload(base: string, name: string, bytes: Buffer, profile = 'nlp'): Promise<string> {
  let up = await upload(base, [{ name, bytes }], profile);
  if (up.status !== 202) throw new Error(`upload of ${name} answered ${up.status}: ${up.text}`);
  let doc = up.json.documents[0] as Uploaded;
  if (doc.duplicate) {
    await waitForDocument(base, doc.document_id);
    const del = await api(base, `/api/documents/${doc.document_id}?wait=true`, { method: 'DELETE' });
    if (del.status !== 200) throw new Error(`could not delete the earlier ${name}: ${del.text}`);
    up = await upload(base, [{ name, bytes }], profile);
    doc = up.json.documents[0] as Uploaded;
    if (doc.duplicate) throw new Error(`${name} is still a duplicate after its deletion`);
  }
  return doc.document_id;
}

/** Uploads as a new document and waits for the pipeline to finish. */
export async function ingest(base: string, name: string, bytes: Buffer, profile = 'nlp') {
  return waitForDocument(base, await freshUpload(base, name, bytes, profile));
}
