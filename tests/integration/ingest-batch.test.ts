import JSZip from 'jszip';
import { multihopCorpus } from '../helpers/fixtures';
import { api, startSystem, type System } from '../helpers/system';

describe('POST /api/documents/batch: many files or a ZIP through a bounded window of child workflows', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('ingests every file of a ZIP, skips folders and hidden files, reports aggregated progress', async () => {
    const stamp = Date.now();
    const zip = new JSZip();
    const arts = multihopCorpus().slice(500, 506);
    arts.forEach((a, i) => zip.file(`news/${i}.txt`, `${a.title}\n\n${a.body}\n\nbatch ${stamp}`));
    zip.file('__MACOSX/news/._0.txt', 'junk');
    zip.file('news/.DS_Store', 'junk');
    const bytes = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
    const form = new FormData();
    form.append('files', new Blob([new Uint8Array(bytes)]), 'news.zip');
    form.append('window', '3');
    const res = await api(sys.url, '/api/documents/batch', { method: 'POST', body: form });
    expect(res.status).toBe(202);
    expect(res.json.total).toBe(6);
    expect(res.json.documents.map((d: { filename: string }) => d.filename).sort()).toEqual(['0.txt', '1.txt', '2.txt', '3.txt', '4.txt', '5.txt']);

    let status = '';
    let progress: Record<string, number> = {};
    for (let i = 0; i < 600 && status !== 'completed'; i++) {
      const r = await api(sys.url, `/api/documents/batch/${res.json.batch_id}`);
      status = r.json.status;
      progress = r.json.progress;
      expect(progress.in_flight ?? 0).toBeLessThanOrEqual(3);
      await new Promise((r2) => setTimeout(r2, 500));
    }
    expect(status).toBe('completed');
    expect(progress).toEqual(expect.objectContaining({ total: 6, completed: 6, failed: 0, percent: 100 }));
    const ids = res.json.documents.map((d: { document_id: string }) => d.document_id);
    const rows = (await sys.deps.db.query(`SELECT status FROM documents WHERE id = ANY($1)`, [ids])).rows;
    expect(rows.map((r) => r.status)).toEqual(Array(6).fill('completed'));
  });

  it('refuses a ZIP bomb before storing anything', async () => {
    const zip = new JSZip();
    zip.file('big.txt', Buffer.alloc(60 * 1024 * 1024, 0x20));
    const bytes = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
    const before = (await sys.deps.db.query(`SELECT count(*)::int AS n FROM documents`)).rows[0].n;
    const form = new FormData();
    form.append('files', new Blob([new Uint8Array(bytes)]), 'bomb.zip');
    const res = await api(sys.url, '/api/documents/batch', { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(res.json.error.details.type).toBe('ArchiveBomb');
    expect((await sys.deps.db.query(`SELECT count(*)::int AS n FROM documents`)).rows[0].n).toBe(before);
  });
});
