import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { ingestFiles, expandPaths } from './ingest';
import { messages } from './messages';
import { ApiCallError, DEFAULT_URL, NotLoggedInError, clearSession, loadSession, login, requireSession } from './session';

/**
 * `neuronode`: the command-line client of the REST API and its WebSockets. Every command takes
 * `--json` for scripts; progress bars only on a terminal. Exit codes: 0 done, 1 a document or
 * question failed, 2 a usage or API error, 3 not logged in.
 */
const t = messages();
const out = (json: boolean, value: unknown, human: () => void) => (json ? console.log(JSON.stringify(value, null, 2)) : human());

async function ask(question: string, hidden = false): Promise<string> {
  if (!process.stdin.isTTY) throw new Error(t.needCredentials);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    if (hidden) {
      // Echo nothing of the password.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.includes(question)) process.stderr.write(question);
      };
    }
    const answer = await rl.question(question);
    if (hidden) process.stderr.write('\n');
    return answer;
  } finally {
    rl.close();
  }
}

async function credentials(opts: { email?: string }): Promise<{ email: string; password: string }> {
  const email = opts.email ?? process.env.NEURONODE_EMAIL ?? (await ask(t.promptEmail));
  const password = process.env.NEURONODE_PASSWORD ?? (await ask(t.promptPassword, true));
  if (!email || !password) throw new Error(t.needCredentials);
  return { email, password };
}

export function program(): Command {
  const cli = new Command('neuronode').description('Neuronode from the command line: ingest documents, ask questions, manage them').option('--json', 'machine-readable output');
  const json = () => cli.opts().json === true;

  cli
    .command('login')
    .description('log in (e-mail and password from --email, NEURONODE_EMAIL/NEURONODE_PASSWORD or a prompt)')
    .option('--url <url>', 'the API', process.env.NEURONODE_URL ?? loadSession()?.url ?? DEFAULT_URL)
    .option('--email <email>')
    .option('--workspace <id>')
    .action(async (o: { url: string; email?: string; workspace?: string }) => {
      const c = await credentials(o);
      const s = await login(o.url.replace(/\/$/, ''), c.email, c.password, o.workspace);
      out(json(), { logged_in: true, url: s.url, email: s.email, workspace_id: s.workspace_id }, () => console.log(t.loggedIn(s.email, s.workspace_id)));
    });

  cli
    .command('logout')
    .description('revoke the session and forget it')
    .action(async () => {
      const api = requireSession();
      const s = loadSession()!;
      await api.json('/api/auth/logout', { method: 'POST', body_json: { refresh_token: s.refresh_token } });
      clearSession();
      out(json(), { logged_out: true }, () => console.log(t.loggedOut));
    });

  cli
    .command('status')
    .description('who is logged in where, and the health of the system')
    .action(async () => {
      const api = requireSession();
      const me = await api.json<{ email: string; role: string; workspace_id: string }>('/api/auth/me');
      const health = await fetch(`${api.url}/api/health`);
      const h = (await health.json()) as { status: string };
      out(json(), { url: api.url, ...me, health: h.status }, () => {
        console.log(t.status(api.url, me.email, me.role, me.workspace_id));
        console.log(t.health(h.status));
      });
    });

  cli
    .command('workspace')
    .description('switch the workspace (logs in again into it)')
    .command('use <id>')
    .action(async (id: string) => {
      const s = loadSession();
      if (!s) throw new NotLoggedInError();
      const c = await credentials({ email: s.email });
      const n = await login(s.url, c.email, c.password, id);
      out(json(), { workspace_id: n.workspace_id }, () => console.log(t.loggedIn(n.email, n.workspace_id)));
    });

  cli
    .command('ingest <paths...>')
    .description('upload files and folders (recursively) and follow each document to the end')
    .option('--profile <profile>', 'ingestion profile (e.g. nlp, local)')
    .option('--visibility <visibility>', 'organisation or private')
    .action(async (paths: string[], o: { profile?: string; visibility?: string }) => {
      const api = requireSession();
      const files = expandPaths(paths);
      if (!files.length) throw new Error(t.noFiles);
      const results = await ingestFiles(api, files, { ...o, bars: !json() && process.stderr.isTTY === true, log: (l) => console.error(l) });
      const failed = results.filter((r) => r.outcome === 'failed');
      out(json(), { results, ingested: results.filter((r) => r.outcome === 'ingested').length, duplicates: results.filter((r) => r.outcome === 'duplicate').length, failed: failed.length }, () => {
        console.table(results.map((r) => ({ file: r.file.split('/').pop(), outcome: r.outcome, chunks: r.chunks, entities: r.entities, document: r.document_id })));
        for (const f of failed) console.log(t.failedDoc(f.file, f.error ?? f.status));
        console.log(t.summary(results.length - failed.length - results.filter((r) => r.outcome === 'duplicate').length, results.filter((r) => r.outcome === 'duplicate').length, failed.length));
      });
      if (failed.length) process.exitCode = 1;
    });

  cli
    .command('ask <question>')
    .description('ask a question; the answer streams, then its numbered sources')
    .option('--profile <profile>')
    .action(async (question: string, o: { profile?: string }) => {
      const api = requireSession();
      const res = await api.fetch('/api/query', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ question, stream: true, ...(o.profile ? { profile: o.profile } : {}) }) });
      const decoder = new TextDecoder();
      let buffer = '';
      type Answer = { answer: string; citations: { n: number; title: string; page: number | null; snippet: string }[]; validation: { grounded: boolean } };
      const got: { answer: Answer | null; failure: string | null } = { answer: null, failure: null };
      const streaming = !json() && process.stdout.isTTY === true;
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(part, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>;
          if (event === 'stage' && streaming) process.stderr.write(`· ${String(data.stage)}\n`);
          else if (event === 'token' && streaming) process.stdout.write(String(data.text));
          else if (event === 'reset' && streaming) process.stdout.write(`\n${String(data.text)}`);
          else if (event === 'answer') got.answer = data as unknown as Answer;
          else if (event === 'error') got.failure = ((data.error as { message?: string }) ?? {}).message ?? 'the question failed';
        }
      }
      if (got.failure || !got.answer) throw new Error(got.failure ?? 'the answer stream ended without an answer');
      const a = got.answer;
      out(json(), a, () => {
        if (streaming) process.stdout.write('\n\n');
        const refused = a.citations.length === 0 && /insufficient information/i.test(a.answer);
        console.log(refused ? t.insufficient : a.answer);
        if (!refused) console.log(`(${t.grounded(a.validation.grounded)})`);
        if (a.citations.length) {
          console.log(t.sources);
          for (const c of a.citations) console.log(`  [${c.n}] ${c.title}${c.page ? `, p. ${c.page}` : ''} — ${c.snippet.replace(/\s+/g, ' ').slice(0, 160)}`);
        }
      });
    });

  const docs = cli.command('docs').description('the documents of the workspace');
  docs
    .command('ls')
    .option('--status <status>')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: { status?: string; limit: string }) => {
      const api = requireSession();
      const q = new URLSearchParams({ limit: o.limit, ...(o.status ? { status: o.status } : {}) });
      const r = await api.json<{ documents: { id: string; filename: string; status: string; stage: string; counts: Record<string, number> }[] }>(`/api/documents?${q}`);
      out(json(), r, () => (r.documents.length ? console.table(r.documents.map((d) => ({ id: d.id, file: d.filename, status: d.status, chunks: d.counts?.chunks ?? null }))) : console.log(t.noDocuments)));
    });
  docs.command('show <id>').action(async (id: string) => {
    const d = await requireSession().json(`/api/documents/${id}`);
    out(json(), d, () => console.log(JSON.stringify(d, null, 2)));
  });
  docs.command('rm <id>').action(async (id: string) => {
    const r = await requireSession().json(`/api/documents/${id}?wait=true`, { method: 'DELETE' });
    out(json(), r, () => console.log(t.deleted(id)));
  });
  docs
    .command('reprocess <id>')
    .option('--profile <profile>')
    .action(async (id: string, o: { profile?: string }) => {
      const r = await requireSession().json(`/api/documents/${id}/reprocess`, { method: 'POST', body_json: o.profile ? { profile: o.profile } : {} });
      out(json(), r, () => console.log(t.reprocessing(id)));
    });
  return cli;
}

export async function main(argv = process.argv): Promise<void> {
  const cli = program();
  try {
    await cli.parseAsync(argv);
  } catch (err) {
    if (err instanceof NotLoggedInError) {
      console.error(t.notLoggedIn);
      process.exitCode = 3;
    } else if (err instanceof ApiCallError) {
      console.error(t.error(`${err.message} (${err.status} ${err.code})`));
      process.exitCode = 2;
    } else {
      console.error(t.error((err as Error).message));
      process.exitCode = 2;
    }
  }
}

if (require.main === module) void main();
