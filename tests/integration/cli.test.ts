import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/stack';
import { adminCredentials, api, startSystem, type System } from '../helpers/system';

/**
 * The `neuronode` command-line client, spawned as a user would run it, against the real API and stack:
 * login (tokens in a 0600 file), status, ingest of a folder with a corrupt file among good ones (exit
 * code 1, a summary), a resumed run, a streamed question with its sources, documents listed and
 * removed, progress bars in a pseudo-terminal, German messages, logout. The workspace is this run's own.
 */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const WS = `cli-${RUN}`;
let sys: System;
let home: string;
let folder: string;

const BIN = join(ROOT, 'bin', 'neuronode.js');
/** Runs a command to its end without blocking this process: the API under test runs in it. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
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
