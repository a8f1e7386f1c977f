import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTIONS } from '../../src/adapters/chroma';
import { freshUpload, waitForDocument } from '../helpers/documents';
import { ROOT } from '../helpers/stack';
import { api, startSystem, type System } from '../helpers/system';

/**
 * scripts/backup.sh and scripts/restore.sh on the real stack: ingest, back up, ingest more and delete
 * some, then restore into an empty data folder — documents, chunk/vector/graph counts, a retrieval
 * result, the Temporal history and the audit log are as they were at the backup. A corrupt or a
 * truncated archive, and a data folder that holds data, are refused with nothing written.
 * Runs among the lifecycle tests (after the others): it stops and starts the services.
 */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const DATA = process.env.NEURONODE_DATA ?? '/var/lib/neuronode';
let dir: string;
let sys: System | undefined;

/** `neuronode admin …` (the command-line client), with the data folder given; `out` holds both streams. */
function cli(args: string[], data = DATA): { code: number; out: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'neuronode.js'), 'admin', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NEURONODE_DATA: data }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** A script or the stack command, with the data folder given; `out` holds both streams. */
function sh(script: string, args: string[], data = DATA): { code: number; out: string } {
  const r = spawnSync('bash', [join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NEURONODE_DATA: data }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

interface State {
  documents: { id: string; filename: string; status: string }[];
  counts: Record<string, { chunks: number; vectors: number; graphChunks: number }>;
  retrieved: string[];
  audit: { id: string; action: string; resource: string | null }[];
  workflows: Record<string, string | null>;
}

/** The state as the administrator's workspace shows it (its audit log before `auditBefore`). */
async function snapshot(s: System, ids: string[], auditBefore: Date): Promise<State> {
  const ws = ((await api(s.url, '/api/auth/me')).json as { workspace_id: string }).workspace_id;
  const documents = ((await api(s.url, `/api/documents?limit=100&q=${RUN}`)).json.documents as { id: string; filename: string; status: string }[])
    .map(({ id, filename, status }) => ({ id, filename, status }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const counts: State['counts'] = {};
  const col = await s.deps.chroma.getCollection({ name: COLLECTIONS.chunks });
  for (const id of ids) {
    const chunks = (await s.deps.db.query(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [id])).rows[0].n as number;
    const vectors = (await col.get({ where: { document_id: id }, include: [] })).ids.length;
    const g = await s.deps.graph.executeQuery(`MATCH (c:Chunk {document_id: $id}) RETURN count(c) AS n`, { id });
    counts[id] = { chunks, vectors, graphChunks: Number(g.records[0]!.get('n')) };
  }
  const r = await api(s.url, '/api/retrieve', { method: 'POST', json: { question: 'Who keeps the Vellmar tide ledger?', top_k: 5 } });
  expect(r.status).toBe(200);
  const audit = (
    await s.deps.db.query(`SELECT id::text, action, resource FROM audit_log WHERE workspace_id = $1 AND at < $2 ORDER BY id`, [ws, auditBefore])
  ).rows as State['audit'];
  const workflows: State['workflows'] = {};
  for (const id of ids) {
    try {
      workflows[id] = (await s.deps.temporal!.workflow.getHandle(`ingest-${id}`).describe()).status.name;
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
      workflows[id] = null;
    }
  }
  return { documents, counts, retrieved: (r.json.chunks as { chunk_id: string }[]).map((c) => c.chunk_id), audit, workflows };
}

beforeAll(() => {
  dir = mkdtempSync('/tmp/neuronode-backup-test-');
  // The stack's services run as their own users: they must reach a data folder restored under here.
  spawnSync('chmod', ['755', dir]);
  expect(sh('stack/stack.sh', ['up']).code).toBe(0);
});
afterAll(async () => {
  await sys?.stop();
  // Whatever happened, the stack ends up running on its own data folder again, and nothing of the test's is left.
  sh('stack/stack.sh', ['down'], join(dir, 'data'));
  sh('stack/stack.sh', ['up']);
  rmSync(dir, { recursive: true, force: true });
}, 900_000);

it('restores ingested documents, their vectors and graph, Temporal history and the audit log as they were at the backup', async () => {
  sys = await startSystem();
  const kept = await freshUpload(sys.url, `ledger-${RUN}.txt`, Buffer.from(`Ilka Brenner keeps the Vellmar tide ledger in the harbour office. Run ${RUN}.`));
  expect((await waitForDocument(sys.url, kept)).status).toBe('completed');
  // The audit log is compared up to this moment (rows of requests in flight are written as they end).
  const cut = new Date();
  const before = await snapshot(sys, [kept], cut);
  await sys.stop();
  sys = undefined;

  // The backup through the command-line client (it runs scripts/backup.sh), which names its archive.
  const started = Date.now();
  const b = cli(['backup', '--out', 'backup.tar.gz']);
  const archive = join(dir, 'backup.tar.gz');
  console.log(`backup: ${((Date.now() - started) / 1000).toFixed(1)} s, ${(statSync(archive).size / 1048576).toFixed(1)} MiB — ${b.out.trim().split('\n').filter((l) => l.startsWith('[backup] done')).join('')}`);
  expect({ code: b.code, tail: b.out.slice(-400) }).toEqual({ code: 0, tail: expect.stringContaining(`done: ${archive}`) });
  expect(statSync(archive).mode & 0o777).toBe(0o600);
  expect(sh('stack/stack.sh', ['status']).code).toBe(0); // running again

  // After the backup: one more document, and the first one deleted.
  sys = await startSystem();
  const later = await freshUpload(sys.url, `later-${RUN}.txt`, Buffer.from(`Jory Aster rows the Vellmar ferry after the backup. Run ${RUN}.`));
  expect((await waitForDocument(sys.url, later)).status).toBe('completed');
  expect((await api(sys.url, `/api/documents/${kept}?wait=true`, { method: 'DELETE' })).status).toBe(200);
  expect((await api(sys.url, `/api/documents/${kept}`)).status).toBe(404);
  await sys.stop();
  sys = undefined;

  // Refusals first, each leaving its target untouched.
  expect(sh('scripts/restore.sh', [archive], join(dir, 'busy')).out).toMatch(/refused: services are running/);
  expect(sh('stack/stack.sh', ['down']).code).toBe(0);
  const target = join(dir, 'data');
  const bytes = readFileSync(archive);
  const corrupt = Buffer.from(bytes);
  for (let i = Math.floor(corrupt.length / 2); i < Math.floor(corrupt.length / 2) + 64; i++) corrupt[i] = corrupt[i]! ^ 0xff;
  writeFileSync(join(dir, 'corrupt.tar.gz'), corrupt);
  writeFileSync(join(dir, 'truncated.tar.gz'), bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  for (const bad of ['corrupt.tar.gz', 'truncated.tar.gz']) {
    const r = sh('scripts/restore.sh', [join(dir, bad)], target);
    expect({ bad, code: r.code }).toEqual({ bad, code: 1 });
    expect(r.out).toMatch(/refused: (the archive is unreadable|the archive does not match its manifest)/);
    for (const p of ['postgres', 'neo4j', 'chroma', 'temporal', 'redis']) expect([bad, p, existsSync(join(target, p)) && readdirSync(join(target, p)).length > 0]).toEqual([bad, p, false]);
  }
  // A data folder that holds a store's data is never overwritten.
  const occupied = join(dir, 'occupied');
  mkdirSync(join(occupied, 'postgres'), { recursive: true });
  writeFileSync(join(occupied, 'postgres', 'PG_VERSION'), '15\n');
  const r = sh('scripts/restore.sh', [archive], occupied);
  expect(r.out).toMatch(/refused: .*postgres holds data/);
  expect(readFileSync(join(occupied, 'postgres', 'PG_VERSION'), 'utf8')).toBe('15\n');

  // The real restore, into an empty folder, and the stack started on it.
  const restoreStarted = Date.now();
  const ok = cli(['restore', 'backup.tar.gz'], target);
  console.log(`restore: ${((Date.now() - restoreStarted) / 1000).toFixed(1)} s`);
  expect({ code: ok.code, out: ok.out.slice(-300) }).toEqual({ code: 0, out: expect.stringContaining('files verified') });
  expect(sh('stack/stack.sh', ['up'], target).code).toBe(0);
  const restoredAt = new Date();
  sys = await startSystem();
  const after = await snapshot(sys, [kept, later], cut);
  // Nothing done after the backup is in the restored log: neither the later upload nor the deletion.
  const since = (await sys.deps.db.query(`SELECT action, resource FROM audit_log WHERE at >= $1 AND at < $2`, [cut, restoredAt])).rows as { action: string; resource: string | null }[];
  expect(since.filter((r) => `${r.resource}`.includes(later) || `${r.resource}`.includes(kept))).toEqual([]);
  await sys.stop();
  sys = undefined;
  expect(sh('stack/stack.sh', ['down'], target).code).toBe(0);

  expect(after.documents).toEqual(before.documents);
  expect(after.documents.map((d) => d.id)).toContain(kept);
  expect(after.documents.map((d) => d.id)).not.toContain(later);
  expect(after.counts[kept]).toEqual(before.counts[kept]);
  expect(before.counts[kept]!.chunks).toBeGreaterThan(0);
  expect(before.counts[kept]!.vectors).toBe(before.counts[kept]!.chunks);
  expect(before.counts[kept]!.graphChunks).toBe(before.counts[kept]!.chunks);
  expect(after.counts[later]).toEqual({ chunks: 0, vectors: 0, graphChunks: 0 });
  expect(before.audit.length).toBeGreaterThan(0);
  expect(after.retrieved).toEqual(before.retrieved);
  expect(after.retrieved.length).toBeGreaterThan(0);
  expect(after.audit).toEqual(before.audit);
  expect(after.workflows).toEqual({ [kept]: 'COMPLETED', [later]: null });
}, 1_800_000);
