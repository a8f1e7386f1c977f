import { join } from 'node:path';
import { COLLECTIONS } from '../../src/adapters';
import { checkConsistency } from '../../src/consistency';
import { upload, waitForDocument } from '../helpers/documents';
import { runCommand } from '../helpers/run';
import { ROOT } from '../helpers/stack';
import { adminCredentials, api, login, startSystem, type System } from '../helpers/system';

/**
 * The consistency check (`npm run check:consistency`) against drift made in the real stores: a vector
 * removed from Chroma, vectors and a graph of a document PostgreSQL does not know, a document whose
 * workflow no longer runs. Each is reported; `--repair` fixes what it may, and the check then passes.
 * The workspace is this run's own, so what earlier runs left elsewhere cannot change the verdict.
 */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const WS = `consistency-${RUN}`;
let sys: System;
let token: string;

/** The consistency command as an operator runs it (asynchronously: the API under test runs in this process). */
const cli = async (...args: string[]) => {
  const r = await runCommand('npx', ['tsx', join(ROOT, 'scripts', 'check-consistency.ts'), '--workspace', WS, ...args], process.env, 120_000);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
};

beforeAll(async () => {
  sys = await startSystem();
  expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id: WS, name: 'Consistency drill' } })).status).toBe(201);
  token = (await login(sys.url, { ...adminCredentials(), workspace_id: WS })).access_token as string;
});
afterAll(async () => {
  await sys?.stop();
});

async function ingestHere(name: string, text: string): Promise<string> {
  const up = await upload(sys.url, [{ name, bytes: Buffer.from(text) }], 'nlp', { token });
  expect(up.status).toBe(202);
  const id = up.json.documents[0].document_id as string;
  expect((await waitForDocument(sys.url, id, 240_000, token)).status).toBe('completed');
  return id;
}

it('finds a workspace whose stores agree consistent, and says so with exit code 0', async () => {
  await ingestHere(`agree-${RUN}.txt`, `Henrike Solberg chairs the Varnholt Water Board. The Varnholt Water Board met in Kessenich. Run ${RUN}.`);
  const report = await checkConsistency(sys.deps, { workspace: WS });
  expect(report).toMatchObject({ documents: 1, completed: 1, consistent: true, mismatched: [], abandoned: [], orphaned: [] });
  const r = await cli();
  expect(r.out).toMatch(/1 documents in workspace .* \(1 completed\) — consistent/);
  expect(r.code).toBe(0);
});

it('reports drift in each store, repairs abandoned documents and orphans, and names what needs reprocessing', async () => {
  const id = await ingestHere(`drift-${RUN}.txt`, `Joran Wellbrock audits the Ostrand Ferry Company. The Ostrand Ferry Company sails from Hellwick. Run ${RUN}.`);
  const col = await sys.deps.chroma.getCollection({ name: COLLECTIONS.chunks });
  const chunks = Number((await sys.deps.db.query(`SELECT count(*) AS n FROM chunks WHERE document_id = $1`, [id])).rows[0].n);
  expect(chunks).toBeGreaterThan(0);
  // Drift 1: one of the document's vectors is gone from Chroma.
  const vectors = await col.get({ where: { document_id: id }, include: ['embeddings'] });
  await col.delete({ ids: [vectors.ids[0]!] });
  // Drift 2: vectors and a graph of a document PostgreSQL has no record of.
  const ghost = `ghost-${RUN}`;
  await col.upsert({ ids: [`${ghost}-0`], embeddings: [vectors.embeddings[0] as number[]], documents: ['left behind'], metadatas: [{ document_id: ghost, workspace_id: WS }] });
  await sys.deps.graph.executeQuery(`CREATE (d:Document {id: $id, workspace_id: $ws})-[:CONTAINS]->(:Chunk {id: $chunk, workspace_id: $ws})`, { id: ghost, ws: WS, chunk: `${ghost}-c0` });
  // Drift 3: a document that says it is processing, under a workflow that never ran.
  const stuck = `stuck-${RUN}`;
  await sys.deps.db.query(
    `INSERT INTO documents (id, workspace_id, checksum, filename, size_bytes, status, stage, workflow_id) VALUES ($1, $2, $3, 'stuck.txt', 1, 'processing', 'chunk', $4)`,
    [stuck, WS, `sha-${RUN}`, `ingest-${stuck}`],
  );

  const report = await checkConsistency(sys.deps, { workspace: WS });
  expect(report.consistent).toBe(false);
  expect(report.mismatched).toEqual([{ id, workspace_id: WS, status: 'completed', chunks, vectors: chunks - 1, graph_chunks: chunks }]);
  expect(report.orphaned).toEqual([{ document_id: ghost, vectors: 1, graph_chunks: 1, graph_node: true }]);
  expect(report.abandoned).toEqual([{ id: stuck, workspace_id: WS, status: 'processing', workflow_id: `ingest-${stuck}` }]);
  expect((await cli()).code).toBe(1);

  const r = await cli('--repair');
  expect(r.out).toMatch(/repaired: 1 abandoned document\(s\) marked failed, 1 orphan\(s\) removed/);
  expect(r.out).toMatch(new RegExp(`mismatched ${id} .*: ${chunks} chunk rows, ${chunks - 1} vectors`));
  // The mismatch is left for a reprocess, so the check still fails.
  expect(r.code).toBe(1);
  expect((await col.get({ where: { document_id: ghost }, include: [] })).ids).toEqual([]);
  expect(Number((await sys.deps.graph.executeQuery(`MATCH (n) WHERE n.id IN [$id, $chunk] RETURN count(n) AS n`, { id: ghost, chunk: `${ghost}-c0` })).records[0]!.get('n'))).toBe(0);
  expect((await sys.deps.db.query(`SELECT status FROM documents WHERE id = $1`, [stuck])).rows[0].status).toBe('failed');

  // Reprocessing the mismatched document through the API makes the stores agree again.
  const re = await api(sys.url, `/api/documents/${id}/reprocess`, { method: 'POST', json: { profile: 'nlp' }, token });
  expect(re.status).toBe(202);
  expect((await waitForDocument(sys.url, id, 240_000, token)).status).toBe('completed');
  await sys.deps.db.query(`DELETE FROM documents WHERE id = $1`, [stuck]);
  expect((await checkConsistency(sys.deps, { workspace: WS })).consistent).toBe(true);
});
