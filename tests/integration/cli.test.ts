import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../helpers/run';
import { ROOT } from '../helpers/stack';
import { adminCredentials, api, startSystem, type System } from '../helpers/system';

/**
 * The `neuronode` command-line client, spawned as a user would run it, against the real API and stack:
 * login (tokens in a 0600 file), status, ingest of a folder with a corrupt file among good ones (exit
 * code 1, a summary), a resumed run, a streamed question with its sources, passages and an entity, a
 * CSV batch of questions, a ZIP stopped at the budget gate and decided from the command line,
 * documents listed and removed, progress bars in a pseudo-terminal, German messages, logout. The workspace is this run's own.
 */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const WS = `cli-${RUN}`;
let sys: System;
let home: string;
let folder: string;
/** The documents the first ingestion made, by file name. */
const ids: Record<string, string> = {};
const H = { 'x-workspace-id': WS };

const BIN = join(ROOT, 'bin', 'neuronode.js');
const run = (command: string, args: string[], env: Record<string, string>) => runCommand(command, args, env);
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [BIN, ...args], { ...(process.env as Record<string, string>), XDG_CONFIG_HOME: join(home, 'config'), NEURONODE_LANG: 'en', ...env });
const jsonOf = (r: { stdout: string }) => JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  sys = await startSystem();
  expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id: WS, name: 'CLI' } })).status).toBe(201);
  home = mkdtempSync(join(tmpdir(), 'neuronode-cli-'));
  folder = join(home, 'docs');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  writeFileSync(join(folder, 'lantern.txt'), `The Harwick Lantern Society was founded by Edda Lindqvist in 1987. It restores ship lanterns in Harwick harbour. Run ${RUN}.`);
  writeFileSync(join(folder, 'sub', 'ferry.md'), `# Ostrand ferry\n\nThe Ostrand ferry sails twice a day from Hellwick to Ostrand island. Run ${RUN}.`);
  // A PDF by its signature, but nothing after it is a PDF.
  writeFileSync(join(folder, 'broken.pdf'), Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(`not a pdf at all ${RUN}`.repeat(20))]));
});
afterAll(async () => {
  if (home) rmSync(home, { recursive: true, force: true });
  await sys?.stop();
});

it('logs in with credentials from the environment and keeps the session in a file only its user can read', async () => {
  expect((await cli(['status'])).code).toBe(3); // not logged in yet
  const { email, password } = adminCredentials();
  const r = await cli(['--json', 'login', '--url', sys.url, '--email', email, '--workspace', WS], { NEURONODE_PASSWORD: password });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(jsonOf(r)).toMatchObject({ logged_in: true, email, workspace_id: WS });
  const file = join(home, 'config', 'neuronode', 'session.json');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const s = await cli(['--json', 'status']);
  expect(s.code).toBe(0);
  expect(jsonOf(s)).toMatchObject({ email, role: 'admin', workspace_id: WS, health: 'healthy' });
});

it('ingests a folder recursively, reports the corrupt file as failed with exit code 1, and resumes without re-ingesting', async () => {
  const r = await cli(['--json', 'ingest', folder, '--profile', 'nlp']);
  expect(r.code).toBe(1);
  const out = jsonOf(r);
  expect(out).toMatchObject({ ingested: 2, duplicates: 0, failed: 1 });
  const byName = Object.fromEntries((out.results as { file: string }[]).map((x) => [x.file.split('/').pop(), x]));
  expect(byName['lantern.txt']).toMatchObject({ outcome: 'ingested', status: 'completed' });
  expect(byName['lantern.txt'].chunks).toBeGreaterThan(0);
  expect(byName['ferry.md']).toMatchObject({ outcome: 'ingested', status: 'completed' });
  expect(byName['broken.pdf']).toMatchObject({ outcome: 'failed', status: 'failed' });
  expect(byName['broken.pdf'].error).toMatch(/\S/);
  for (const [name, r] of Object.entries(byName)) ids[name] = (r as { document_id: string }).document_id;

  // Again: what is done is reported as already there; the corrupt file still fails.
  const again = await cli(['--json', 'ingest', folder]);
  expect(again.code).toBe(1);
  expect(jsonOf(again)).toMatchObject({ ingested: 0, duplicates: 2, failed: 1 });
});

it('answers a question with numbered sources', async () => {
  const r = await cli(['--json', 'ask', 'Who founded the Harwick Lantern Society?']);
  expect(r.code).toBe(0);
  const a = jsonOf(r);
  expect(a.answer).toMatch(/Edda Lindqvist/);
  expect(a.validation.grounded).toBe(true);
  expect(a.citations.map((c: { title: string }) => c.title).join(' ')).toMatch(/lantern/i);
  const human = await cli(['ask', 'Who founded the Harwick Lantern Society?']);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/Edda Lindqvist/);
  expect(human.stdout).toMatch(/Sources:\n\s+\[1\] /);
});

it('finds the passages for a question without an answer, and an entity with the documents that mention it', async () => {
  const r = await cli(['--json', 'retrieve', 'Who founded the Harwick Lantern Society?', '--top-k', '3']);
  expect(r.code).toBe(0);
  const chunks = jsonOf(r).chunks as { document_id: string; text: string }[];
  expect(chunks[0]).toMatchObject({ document_id: ids['lantern.txt'], text: expect.stringMatching(/Edda Lindqvist/) });
  const human = await cli(['retrieve', 'Who founded the Harwick Lantern Society?', '--top-k', '3']);
  expect(human.stdout).toMatch(/^\[1\] .*Edda Lindqvist/m);

  const e = await cli(['--json', 'graph', 'entity', 'edda lindqvist']);
  expect(e.code).toBe(0);
  const entity = jsonOf(e).entity as { name: string; mentions: { document_id: string }[] };
  expect(entity.name).toBe('Edda Lindqvist');
  expect(entity.mentions.map((m) => m.document_id)).toContain(ids['lantern.txt']);
  const none = await cli(['graph', 'entity', `Nobody Zzyzx ${RUN}`]);
  expect(none.code).toBe(1);
  expect(none.stdout).toMatch(/No entity named like/);
});

it('answers a CSV file of questions as a batch workflow and writes the results as JSON Lines in the file\'s order', async () => {
  const qs = join(home, 'questions.csv');
  // A quoted comma inside a question, and a column before the question column.
  writeFileSync(qs, 'id,question\n1,Who founded the Harwick Lantern Society?\n2,"Where does the Ostrand ferry sail from, and how often?"\n');
  const outFile = join(home, 'answers.jsonl');
  const r = await cli(['--json', 'ask', '--batch', qs, '--out', outFile, '--retrieval-only']);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(jsonOf(r)).toMatchObject({ status: 'completed', total: 2, completed: 2, failed: 0, out: outFile });
  const rows = readFileSync(outFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; question: string; status: string; retrieved: { document_id: string }[] });
  expect(rows.map((x) => [x.index, x.question, x.status])).toEqual([
    [0, 'Who founded the Harwick Lantern Society?', 'completed'],
    [1, 'Where does the Ostrand ferry sail from, and how often?', 'completed'],
  ]);
  expect(rows[0]!.retrieved[0]!.document_id).toBe(ids['lantern.txt']);
  expect(rows[1]!.retrieved[0]!.document_id).toBe(ids['ferry.md']);

  expect((await cli(['ask', 'Who?', '--batch', qs])).code).toBe(2);
  writeFileSync(join(home, 'empty.txt'), '\n\n');
  const empty = await cli(['ask', '--batch', join(home, 'empty.txt')]);
  expect(empty.code).toBe(2);
  expect(empty.stderr).toMatch(/no questions/);
});

it('unpacks a ZIP, stops at the budget gate with exit code 4, or waits there with --wait-approval and follows the documents on once `budget approve`/`reject` decide', async () => {
  const { default: JSZip } = await import('jszip');
  const zip = new JSZip();
  zip.file('guild/charter.txt', `The Brannock Weavers Guild was chartered by Ilse Marquardt in 1902. Run ${RUN}.`);
  zip.file('guild/mill.txt', `The Tessel mill spins flax for the Brannock Weavers Guild. Run ${RUN}.`);
  const archive = join(home, 'guild.zip');
  writeFileSync(archive, await zip.generateAsync({ type: 'nodebuffer' }));
  expect((await api(sys.url, '/api/admin/budget', { method: 'PATCH', json: { approval_above_usd: 0 }, headers: H })).status).toBe(200);
  try {
    const r = await cli(['--json', 'ingest', archive, '--profile', 'nlp']);
    expect(r.code).toBe(4);
    const out = jsonOf(r);
    expect(out).toMatchObject({ ingested: 0, failed: 0, awaiting_approval: 2 });
    const byName = Object.fromEntries((out.results as { file: string; document_id: string; outcome: string }[]).map((x) => [x.file.split('guild.zip/').pop(), x]));
    expect(Object.keys(byName).sort()).toEqual(['charter.txt', 'mill.txt']);
    // Named as the lines and the summary table call them: the archive, then the file inside.
    expect((out.results as { name: string }[]).map((x) => x.name).sort()).toEqual(['guild.zip/charter.txt', 'guild.zip/mill.txt']);

    const waiting = jsonOf(await cli(['--json', 'budget']));
    const charter = byName['charter.txt']!.document_id;
    const mill = byName['mill.txt']!.document_id;
    expect((waiting.awaiting_approval as { document_id: string }[]).map((w) => w.document_id).sort()).toEqual([charter, mill].sort());

    // With --wait-approval the command waits at the gate, and follows each document on once decided.
    const following = cli(['--json', 'ingest', archive, '--wait-approval']);
    await new Promise((r) => setTimeout(r, 3000));
    const approve = await cli(['budget', 'approve', charter]);
    expect({ code: approve.code, stdout: approve.stdout }).toEqual({ code: 0, stdout: `${charter}: approved.\n` });
    expect((await cli(['budget', 'reject', mill, '--reason', 'not needed'])).code).toBe(0);
    // Deciding twice is refused by the API, and said so.
    const again = await cli(['budget', 'reject', mill]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/not awaiting budget approval/);

    const followed = await following;
    expect(followed.code).toBe(1);
    const after = Object.fromEntries((jsonOf(followed).results as { file: string; outcome: string; status: string; chunks: number | null }[]).map((x) => [x.file.split('guild.zip/').pop(), x]));
    expect(after['charter.txt']).toMatchObject({ outcome: 'ingested', status: 'completed' });
    expect(after['charter.txt']!.chunks).toBeGreaterThan(0);
    expect(after['mill.txt']).toMatchObject({ outcome: 'failed', status: 'rejected' });
    // Run once more: the approved one is there already.
    expect(jsonOf(await cli(['--json', 'ingest', archive]))).toMatchObject({ ingested: 0, duplicates: 1, failed: 1, awaiting_approval: 0 });
  } finally {
    await api(sys.url, '/api/admin/budget', { method: 'PATCH', json: { approval_above_usd: null }, headers: H });
  }
});

it('draws progress bars on a terminal', async () => {
  const file = join(home, 'tty.txt');
  writeFileSync(file, `Lorna Vasquez keeps the Brindle Observatory logbook. Run ${RUN}.`);
  const env = { ...process.env, XDG_CONFIG_HOME: join(home, 'config'), NEURONODE_LANG: 'en', COLUMNS: '120' } as Record<string, string>;
  // `script` gives the command a pseudo-terminal and records what it drew.
  const r = await run('script', ['-qec', `${process.execPath} ${BIN} ingest ${file}`, join(home, 'typescript')], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/all documents/);
  expect(r.stdout).toMatch(/100% \| tty\.txt/);
  expect(r.stdout).toMatch(/[█░]{10,}/);

  // A batch's bar counts the questions answered.
  const qs = join(home, 'tty-questions.txt');
  writeFileSync(qs, 'Who keeps the Brindle Observatory logbook?\nWho founded the Harwick Lantern Society?\n');
  const b = await run('script', ['-qec', `${process.execPath} ${BIN} ask --batch ${qs} --retrieval-only --out ${join(home, 'tty.jsonl')}`, join(home, 'typescript')], env);
  expect(b.code).toBe(0);
  expect(b.stdout).toMatch(/2\/2 questions/);
  expect(readFileSync(join(home, 'tty.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
});

it('lists and removes documents, speaks German when asked, and logs out', async () => {
  const ls = jsonOf(await cli(['--json', 'docs', 'ls']));
  const lantern = (ls.documents as { id: string; filename: string }[]).find((d) => d.filename === 'lantern.txt')!;
  expect(lantern).toBeDefined();
  const rm = await cli(['docs', 'rm', lantern.id]);
  expect(rm.code).toBe(0);
  expect(rm.stdout).toMatch(new RegExp(`Deleted ${lantern.id}`));
  expect((await api(sys.url, `/api/documents/${lantern.id}`)).status).toBe(404);
  expect((await cli(['docs', 'show', 'doc_000000000000000000000000'])).code).toBe(2);

  const out = await cli(['logout']);
  expect(out.code).toBe(0);
  expect(existsSync(join(home, 'config', 'neuronode', 'session.json'))).toBe(false);
  const de = await cli(['status'], { NEURONODE_LANG: 'de' });
  expect(de.code).toBe(3);
  expect(de.stderr).toMatch(/Nicht angemeldet/);
});
