import JSZip from 'jszip';
import { lyingZip, multihopCorpus } from '../helpers/fixtures';
import { api, startSystem, type System } from '../helpers/system';

describe('POST /api/documents/batch: many files or a ZIP through a bounded window of child workflows', () => {
  let sys: System;
  beforeAll(async () => {
    // Small request limits here, so the tests can pass them with a few megabytes.
    sys = await startSystem({ MAX_REQUEST_BYTES: 8 * 1024 * 1024, MAX_REQUEST_INFLATED_BYTES: 12 * 1024 * 1024 });
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

  const count = async () => (await sys.deps.db.query(`SELECT count(*)::int AS n FROM documents`)).rows[0].n as number;
  const post = (files: { name: string; bytes: Buffer }[]) => {
    const form = new FormData();
    for (const f of files) form.append('files', new Blob([new Uint8Array(f.bytes)]), f.name);
    return api(sys.url, '/api/documents/batch', { method: 'POST', body: form });
  };

  it('stops a ZIP that lies about its sizes by the bytes it really inflates', async () => {
    const before = await count();
    const res = await post([{ name: 'liar.zip', bytes: await lyingZip('small.txt', 40 * 1024 * 1024, 1000) }]);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ details: { type: 'ArchiveBomb' }, message: expect.stringMatching(/declares/) });
    expect(await count()).toBe(before);
  });

  it("bounds what all of a request's archives inflate to, together", async () => {
    // Three archives of 5 MB each: every one is within the per-file limit; together they pass the
    // request's 12 MB.
    const zips = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const zip = new JSZip();
        zip.file(`part-${i}.txt`, Buffer.alloc(5 * 1024 * 1024, 0x61 + i));
        return { name: `part-${i}.zip`, bytes: await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }) };
      }),
    );
    const before = await count();
    const res = await post(zips);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ details: { type: 'ArchiveBomb' }, message: expect.stringMatching(/archives of this request: more than 12582912 bytes inflated/) });
    expect(await count()).toBe(before);
  });

  it('refuses a request larger in all than its limit, though each file is within its own', async () => {
    const before = await count();
    const res = await post([0, 1, 2].map((i) => ({ name: `plain-${i}.txt`, bytes: Buffer.alloc(3 * 1024 * 1024, 0x61 + i) })));
    expect(res.status).toBe(413);
    expect(res.json.error.message).toMatch(/request is larger than the limit of 8388608 bytes/);
    expect(await count()).toBe(before);
  });
});
