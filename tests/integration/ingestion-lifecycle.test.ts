import JSZip from 'jszip';
import { COLLECTIONS } from '../../src/adapters';
import { freshUpload, ingest, upload, waitForDocument } from '../helpers/documents';
import { lyingZip, multihopCorpus, npmFixture } from '../helpers/fixtures';
import { api, startSystem, type System } from '../helpers/system';

describe('ingestion: duplicates, deletion, bad input, cancellation, LLM profile', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ MAX_UPLOAD_BYTES: 2 * 1024 * 1024 });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  /** Everything any store holds for a document. */
  async function footprint(id: string) {
    const pg = await sys.deps.db.query(
      `SELECT (SELECT count(*) FROM documents WHERE id = $1)::int AS docs, (SELECT count(*) FROM document_blobs WHERE document_id = $1)::int AS blobs,
              (SELECT count(*) FROM chunks WHERE document_id = $1)::int AS chunks, (SELECT count(*) FROM document_entities WHERE document_id = $1)::int AS entities`,
      [id],
    );
    const col = await sys.deps.chroma.getCollection({ name: COLLECTIONS.chunks });
    const vectors = (await col.get({ where: { document_id: id }, include: [] })).ids.length;
    const { records } = await sys.deps.graph.executeQuery(
      `OPTIONAL MATCH (d:Document {id: $id}) OPTIONAL MATCH (c:Chunk {document_id: $id}) RETURN count(DISTINCT d) AS docs, count(DISTINCT c) AS chunks`,
      { id },
    );
    return { ...pg.rows[0], vectors, graphDocs: records[0]?.get('docs'), graphChunks: records[0]?.get('chunks') };
  }

  it('the same bytes uploaded twice (in one request and again later) are one document and one run', async () => {
    const a = multihopCorpus()[3]!;
    const bytes = Buffer.from(`${a.title}\n\n${a.body}`);
    const since = new Date().toISOString();
    const first = await ingest(sys.url, 'dup.txt', bytes);
    const again = await upload(sys.url, [{ name: 'dup.txt', bytes }, { name: 'copy-of-dup.txt', bytes }]);
    expect(again.status).toBe(202);
    expect(again.json.documents.map((d: { document_id: string; duplicate: boolean }) => [d.document_id, d.duplicate])).toEqual([
      [first.id, true],
      [first.id, true],
    ]);
    const runs = [];
    for await (const w of sys.deps.temporal!.workflow.list({ query: `WorkflowId = 'ingest-${first.id}' AND StartTime > '${since}'` })) runs.push(w.runId);
    expect(runs).toHaveLength(1);
    const fp = await footprint(first.id);
    expect(fp).toEqual(expect.objectContaining({ docs: 1, blobs: 1, chunks: first.counts.chunks, vectors: first.counts.chunks, graphChunks: first.counts.chunks }));
  });

  it('the workflow is findable by document id in Temporal, with its stage and status', async () => {
    const doc = await ingest(sys.url, 'findable.txt', Buffer.from('Siemens AG reported strong quarterly revenue growth in Munich, said chief executive Roland Busch.'));
    const found = [];
    for await (const w of sys.deps.temporal!.workflow.list({ query: `DocumentId = '${doc.id}' AND IngestStatus = 'completed'` })) found.push(w);
    expect(found.length).toBeGreaterThanOrEqual(1);
    expect(found[0]!.searchAttributes.Stage).toEqual(['done']);
    const progress = await sys.deps.temporal!.workflow.getHandle(`ingest-${doc.id}`).query('progress');
    expect(progress).toEqual(expect.objectContaining({ stage: 'done', percent: 100, chunks_total: 1, chunks_done: 1 }));
  });

  it('deleting one of two documents that share entities keeps the shared ones with the right evidence, and leaves nothing of the deleted one', async () => {
    const a = await ingest(sys.url, 'shared-a.txt', Buffer.from('Siemens AG signed a contract with Quellwerk Logistik in Berlin. Angela Merkel praised Siemens AG and Quellwerk Logistik.'));
    const b = await ingest(sys.url, 'shared-b.txt', Buffer.from('Siemens AG opened a factory in Munich. Olaf Scholz visited Siemens AG in Munich.'));
    const ents = async (id: string) => (await sys.deps.db.query(`SELECT entity_id, name FROM document_entities WHERE document_id = $1`, [id])).rows as { entity_id: string; name: string }[];
    const entsA = await ents(a.id);
    const entsB = await ents(b.id);
    const shared = entsA.filter((e) => entsB.some((x) => x.entity_id === e.entity_id));
    // "Siemens AG" and "Siemens" are one organisation (legal forms do not split entities).
    expect(shared.map((e) => e.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^Siemens/)]));
    // Entities no other document of the workspace mentions (earlier tests leave documents behind).
    const elsewhere = new Set(
      (await sys.deps.db.query(`SELECT DISTINCT entity_id FROM document_entities WHERE document_id <> $1 AND workspace_id = 'default'`, [a.id])).rows.map((r) => r.entity_id),
    );
    const onlyA = entsA.filter((e) => !elsewhere.has(e.entity_id)).map((e) => e.entity_id);
    expect(onlyA.length).toBeGreaterThan(0);

    const del = await api(sys.url, `/api/documents/${a.id}?wait=true`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.json.deleted).toBe(true);
    expect(await footprint(a.id)).toEqual({ docs: 0, blobs: 0, chunks: 0, entities: 0, vectors: 0, graphDocs: 0, graphChunks: 0 });
    // Entities only A mentioned are gone from the graph and from the entity vectors.
    const { records } = await sys.deps.graph.executeQuery(`MATCH (e:Entity) WHERE e.id IN $ids RETURN count(e) AS n`, { ids: onlyA });
    expect(records[0]?.get('n')).toBe(0);
    const entCol = await sys.deps.chroma.getCollection({ name: COLLECTIONS.entities });
    expect((await entCol.get({ ids: onlyA, include: [] })).ids).toEqual([]);
    // Shared entities stay, mentioned by B (and other documents of the workspace), never by A.
    for (const e of shared) {
      const r = await sys.deps.graph.executeQuery(
        `MATCH (e:Entity {id: $id})<-[:MENTIONS]-(c:Chunk) RETURN collect(DISTINCT c.document_id) AS docs`,
        { id: e.entity_id },
      );
      expect(r.records[0]?.get('docs')).toContain(b.id);
      expect(r.records[0]?.get('docs')).not.toContain(a.id);
    }
    // No relation keeps evidence from A's chunks.
    const rel = await sys.deps.graph.executeQuery(
      `MATCH ()-[r:RELATED_TO]->() WHERE any(x IN r.evidence WHERE NOT EXISTS { MATCH (c:Chunk {id: x}) }) RETURN count(r) AS n`,
    );
    expect(rel.records[0]?.get('n')).toBe(0);
    expect((await api(sys.url, `/api/documents/${a.id}`)).status).toBe(404);
  });

  it.each([
    ['zero bytes', 'empty.txt', () => Buffer.alloc(0), 'UnsupportedFormat', /empty/],
    ['a corrupt PDF (pdf-parse test data)', '03-invalid.pdf', () => npmFixture('pdf-parse@1.1.1', 'test/data/03-invalid.pdf'), 'CorruptDocument', /PDF/],
    ['a PNG renamed to .pdf (mammoth test data)', 'report.pdf', () => npmFixture('mammoth@1.13.0', 'test/test-data/tiny-picture.png'), 'UnsupportedFormat', /PNG image/],
    ['an ELF binary renamed to .txt', 'notes.txt', () => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(2000, 7)]), 'UnsupportedFormat', /executable/],
    ['random bytes', 'data.bin', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), 'UnsupportedFormat', /binary/],
    ['a ZIP that is no Office document', 'archive.docx', () => npmFixture('mammoth@1.13.0', 'test/test-data/hello.zip'), 'UnsupportedFormat', /ZIP archive/],
    ['an empty DOCX (mammoth test data)', 'empty.docx', () => npmFixture('mammoth@1.13.0', 'test/test-data/empty.docx'), 'EmptyDocument', /no text/],
  ])('%s: the document is marked failed with the reason, and nothing else is stored', async (_what, name, bytes, type, message) => {
    const doc = await ingest(sys.url, name, bytes());
    expect(doc.status).toBe('failed');
    expect(doc.error.type).toBe(type);
    expect(doc.error.message).toMatch(message);
    const fp = await footprint(doc.id);
    expect(fp).toEqual({ docs: 1, blobs: 1, chunks: 0, entities: 0, vectors: 0, graphDocs: 0, graphChunks: 0 });
  });

  it('an archive bomb dressed as a DOCX is refused as soon as what it inflated passes its budget', async () => {
    const zip = new JSZip();
    zip.file('word/document.xml', Buffer.alloc(80 * 1024 * 1024, 0x41));
    const bytes = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
    expect(bytes.length).toBeLessThan(1024 * 1024);
    const doc = await ingest(sys.url, 'bomb.docx', bytes);
    expect(doc.status).toBe('failed');
    expect(doc.error.type).toBe('ArchiveBomb');
  });

  it('an archive bomb that declares small sizes is stopped by the bytes it really inflates', async () => {
    const bytes = await lyingZip('word/document.xml', 80 * 1024 * 1024, 1000);
    const doc = await ingest(sys.url, 'liar.docx', bytes);
    expect(doc.status).toBe('failed');
    expect(doc.error).toMatchObject({ type: 'ArchiveBomb', message: expect.stringMatching(/more than the 1000 bytes it declares/) });
  });

  it("follows an e-mail's attachments only so far: at most 50 of one e-mail, three levels of attached e-mails deep", async () => {
    const run = Date.now().toString(36);
    const mime = (subject: string, parts: { name: string; type: string; body: string }[]) =>
      [
        'From: sender@example.com',
        'To: team@example.com',
        `Subject: ${subject}`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=utf-8',
        '',
        `${subject}: see the attachments.`,
        ...parts.flatMap((p) => ['--b', `Content-Type: ${p.type}; name="${p.name}"`, `Content-Disposition: attachment; filename="${p.name}"`, 'Content-Transfer-Encoding: base64', '', Buffer.from(p.body).toString('base64')]),
        '--b--',
        '',
      ].join('\r\n');
    const many = mime(`Many ${run}`, Array.from({ length: 53 }, (_, i) => ({ name: `note-${i}.txt`, type: 'text/plain', body: `Note ${i} of ${run}.` })));
    const wide = await ingest(sys.url, `many-${run}.eml`, Buffer.from(many));
    expect(wide.status).toBe('completed');
    expect(wide.metadata.extracted.attachments_skipped).toEqual({ count: 3, reason: 'more than 50 attachments' });
    expect((await sys.deps.db.query(`SELECT count(*)::int AS n FROM documents WHERE parent_id = $1`, [wide.id])).rows[0].n).toBe(50);
    // Level 0 carries level 1, which carries 2, which carries 3, which carries a text file.
    let nested = mime(`Level 3 ${run}`, [{ name: 'deep.txt', type: 'text/plain', body: `Deepest ${run}.` }]);
    for (const level of [2, 1]) nested = mime(`Level ${level} ${run}`, [{ name: `level-${level + 1}.eml`, type: 'message/rfc822', body: nested }]);
    const top = await ingest(sys.url, `level-0-${run}.eml`, Buffer.from(mime(`Level 0 ${run}`, [{ name: 'level-1.eml', type: 'message/rfc822', body: nested }])));
    expect(top.status).toBe('completed');
    const chain = async (id: string): Promise<Record<string, unknown>[]> => {
      const child = (await sys.deps.db.query(`SELECT id, filename, metadata FROM documents WHERE parent_id = $1`, [id])).rows[0];
      if (!child) return [];
      await waitForDocument(sys.url, child.id);
      return [child, ...(await chain(child.id))];
    };
    const levels = await chain(top.id);
    expect(levels.map((l) => l.filename)).toEqual(['level-1.eml', 'level-2.eml', 'level-3.eml']);
    const deepest = (await sys.deps.db.query(`SELECT metadata FROM documents WHERE id = $1`, [levels[2]!.id])).rows[0].metadata;
    expect(deepest.extracted.attachments_skipped).toEqual({ count: 1, reason: 'attached 3 levels deep (limit 3)' });
  });

  it('an oversized upload gets 413 and stores nothing', async () => {
    const before = (await sys.deps.db.query(`SELECT count(*)::int AS n FROM documents`)).rows[0].n;
    const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const r = await upload(sys.url, [{ name: 'big.txt', bytes: big }]);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('payload_too_large');
    expect((await sys.deps.db.query(`SELECT count(*)::int AS n FROM documents`)).rows[0].n).toBe(before);
  });

  it('bad requests get clear 400s', async () => {
    expect((await api(sys.url, '/api/documents/upload', { method: 'POST', json: { x: 1 } })).json.error.code).toBe('unsupported_media_type');
    const badProfile = await upload(sys.url, [{ name: 'a.txt', bytes: Buffer.from('hello there, this is text') }], 'gold');
    expect(badProfile.status).toBe(400);
    expect(badProfile.json.error.details[0].path).toBe('profile');
    expect((await api(sys.url, '/api/documents?limit=1000')).status).toBe(400);
    expect((await api(sys.url, '/api/documents?status=weird')).status).toBe(400);
    expect((await api(sys.url, '/api/documents/not-an-id')).status).toBe(400);
    expect((await api(sys.url, '/api/documents/doc_000000000000000000000000')).status).toBe(404);
  });

  it('lists with filters and pagination', async () => {
    const all = await api(sys.url, '/api/documents?status=completed&limit=2');
    expect(all.status).toBe(200);
    expect(all.json.documents.length).toBeLessThanOrEqual(2);
    expect(all.json.total).toBeGreaterThanOrEqual(all.json.documents.length);
    expect(all.json.documents.every((d: { status: string }) => d.status === 'completed')).toBe(true);
    const failed = await api(sys.url, '/api/documents?status=failed&format=pdf');
    expect(failed.json.documents.every((d: { status: string; format: string }) => d.status === 'failed' && d.format === 'pdf')).toBe(true);
    const byTitle = await api(sys.url, '/api/documents?q=findable');
    expect(byTitle.json.documents.map((d: { filename: string }) => d.filename)).toContain('findable.txt');
  });

  it('the LLM profile classifies and extracts through the LiteLLM aliases, recording every call', async () => {
    const text = 'Siemens AG, based in Munich, agreed to supply trains to Deutsche Bahn. Roland Busch leads Siemens AG.';
    const doc = await ingest(sys.url, 'llm-profile.txt', Buffer.from(text), 'local');
    expect(doc.status).toBe('completed');
    expect(doc.profile).toBe('local');
    expect(doc.doc_type).toEqual(expect.any(String));
    const calls = (await sys.deps.db.query(`SELECT DISTINCT alias FROM model_calls WHERE workflow_id = $1 AND ok`, [`ingest-${doc.id}`])).rows.map((r) => r.alias);
    expect(calls).toEqual(expect.arrayContaining(['classification_local', 'extraction_local']));
    // Whatever the small model found is grounded: every entity's name occurs in the text.
    const ents = (await sys.deps.db.query(`SELECT name FROM document_entities WHERE document_id = $1`, [doc.id])).rows;
    for (const e of ents) expect(text.toLowerCase()).toContain(e.name.toLowerCase());
  });

  it('deleting a document while it is being ingested cancels the run, which cleans up, then deletes it', async () => {
    const article = multihopCorpus().find((x) => x.body.length > 6000)!;
    const id = await freshUpload(sys.url, 'cancel-me.txt', Buffer.from(`${article.title}\n\n${article.body}`), 'local');
    // Wait until the model stage has begun, so there is work to cancel.
    for (let i = 0; i < 200; i++) {
      const d = await api(sys.url, `/api/documents/${id}`);
      if (['entities', 'classify'].includes(d.json.stage) || d.json.status !== 'processing' && d.json.status !== 'queued') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const del = await api(sys.url, `/api/documents/${id}?wait=true`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await footprint(id)).toEqual({ docs: 0, blobs: 0, chunks: 0, entities: 0, vectors: 0, graphDocs: 0, graphChunks: 0 });
  });
});
