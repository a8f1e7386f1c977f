import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { upload, waitForDocument } from '../helpers/documents';
import { ROOT } from '../helpers/stack';
import { spawnTracked, stopChild } from '../helpers/teardown';
import { startWorkerProcess } from '../helpers/worker';
import { adminCredentials, api, login, startSystem, type System } from '../helpers/system';

/**
 * PostgreSQL ending the application's connections (what a restart of the database does: 57P01
 * "terminating connection due to administrator command" on every idle pooled client) must not end the
 * API or the worker: they keep serving once connections can be made again. Produced for real: the
 * application role ends its own role's sessions with pg_terminate_backend.
 */
jest.setTimeout(600_000);

let sys: System;
let apiProc: ChildProcess;
let worker: ChildProcess;
let base = '';
let token = '';

/** Uploads one text document through the API process under test and waits until it is completed. */
async function ingestThrough(name: string, text: string) {
  const up = await upload(base, [{ name, bytes: Buffer.from(text), type: 'text/plain' }], 'nlp', { token });
  expect(up.status).toBe(202);
  return waitForDocument(base, up.json.documents[0].document_id as string, 240_000, token);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

function startApi(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(`an API process on port ${port}`, process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'api', 'server.ts')], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`API on ${port} did not start: ${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('neuronode API:')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`API exited with ${code}: ${out}`)));
  });
}

beforeAll(async () => {
  // The stores and an administrator; the API and the worker under test run in processes of their own.
  sys = await startSystem({}, { worker: false });
  const port = await freePort();
  [apiProc, worker] = await Promise.all([startApi(port), startWorkerProcess()]);
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await Promise.all([apiProc, worker].filter(Boolean).map((p) => stopChild(p)));
  await sys?.stop();
});

it('the API and the worker outlive PostgreSQL ending every connection they hold, and carry on', async () => {
  token = (await login(base, adminCredentials())).access_token as string;
  // Fill both processes' pools: requests through the API, a document through the worker.
  await Promise.all(Array.from({ length: 6 }, () => api(base, '/api/documents?limit=5', { token })));
  expect((await ingestThrough(`before-${Date.now()}.txt`, `Before the restart ${Date.now()}: the Ostwind ferry sails at dawn.`)).status).toBe('completed');

  const exits: string[] = [];
  for (const [name, p] of [['API', apiProc], ['worker', worker]] as const) p.once('exit', (code, signal) => exits.push(`${name} exited (${code ?? signal})`));
  const ended = await sys.deps.db.query(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()`);
  expect(ended.rows[0].n).toBeGreaterThan(2);
  await new Promise((r) => setTimeout(r, 3000));
  expect(exits).toEqual([]);

  // Both still serve: requests answer, and a new document goes all the way through.
  const r = await api(base, '/api/documents?limit=5', { token });
  expect(r.status).toBe(200);
  expect((await ingestThrough(`after-${Date.now()}.txt`, `After the restart ${Date.now()}: the Westwind ferry sails at dusk.`)).status).toBe('completed');
  expect(exits).toEqual([]);
});
